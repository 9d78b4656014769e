//! Writes recorded changes as a Value Change Dump, for GTKWave or Surfer.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter};

use crate::observe::trace::Change;
use crate::observe::value::Value;

/// Writes `changes` as a Value Change Dump (timescale 1 ns): one module per
/// sketch; bits as 1-bit wires, whole numbers as 64-bit integers (signed ones
/// in two's complement), real numbers as `real` variables, text as string
/// variables (spaces written as `_`, which VCD cannot hold). The signals of
/// `declared` are declared even if they never change. Returns how many
/// changes were written.
///
/// # Errors
/// When the file cannot be written.
pub fn write(declared: &[Change], changes: &[Change], file: File) -> io::Result<usize> {
    let mut vcd = vcd::Writer::new(BufWriter::new(file));
    vcd.version(concat!("circuit ", env!("CARGO_PKG_VERSION")))?;
    vcd.timescale(1, vcd::TimescaleUnit::NS)?;
    // Declare each signal once, grouped by sketch, in order of declaration or first change.
    let mut sketches: Vec<&str> = Vec::new();
    let mut signals: Vec<(&str, &'static str, &Value)> = Vec::new();
    for change in declared.iter().chain(changes) {
        if !sketches.contains(&&*change.sketch) {
            sketches.push(&change.sketch);
        }
        if !signals
            .iter()
            .any(|(sketch, name, _)| (*sketch, *name) == (&*change.sketch, change.name))
        {
            signals.push((&change.sketch, change.name, &change.value));
        }
    }
    let mut ids = HashMap::new();
    vcd.add_module("circuit")?;
    for sketch in &sketches {
        vcd.add_module(sketch)?;
        for (_, name, first) in signals.iter().filter(|(s, _, _)| s == sketch) {
            let (kind, width) = match first {
                Value::Bit(_) => (vcd::VarType::Wire, 1),
                Value::Unsigned(_) | Value::Signed(_) => (vcd::VarType::Integer, 64),
                Value::Real(_) => (vcd::VarType::Real, 64),
                Value::Text(_) => (vcd::VarType::String, 1),
            };
            ids.insert((*sketch, *name), vcd.add_var(kind, width, name, None)?);
        }
        vcd.upscope()?;
    }
    vcd.upscope()?;
    vcd.enddefinitions()?;
    for change in changes {
        let id = ids[&(&*change.sketch, change.name)];
        vcd.timestamp(change.at)?;
        match &change.value {
            Value::Bit(bit) => vcd.change_scalar(id, *bit)?,
            Value::Unsigned(number) => vcd.change_vector(id, bits(*number))?,
            Value::Signed(number) => vcd.change_vector(id, bits(*number as u64))?,
            Value::Real(number) => vcd.change_real(id, *number)?,
            Value::Text(text) => vcd.change_string(id, &text.replace(' ', "_"))?,
        }
    }
    vcd.flush()?;
    vcd.writer().get_mut().sync_all()?;
    Ok(changes.len())
}

/// The 64 bits of `number`, most significant first, as VCD writes a vector.
fn bits(number: u64) -> impl Iterator<Item = vcd::Value> {
    (0..64).rev().map(move |bit| {
        if number >> bit & 1 == 1 {
            vcd::Value::V1
        } else {
            vcd::Value::V0
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::trace::Trace;

    #[test]
    fn a_vcd_file_reads_back_with_every_change() {
        let trace = Trace::new();
        trace.keep_all();
        trace.record("clock", "tick", Value::Unsigned(5));
        trace.record("clock", "ack", Value::Text("[0, 1]".into()));
        // A level set again to what it is: no change, nothing written.
        trace.record("iopin", "level", Value::Bit(true));
        trace.record("iopin", "level", Value::Bit(true));
        trace.record("iopin", "level", Value::Bit(false));
        // A message received twice: two events, both written.
        trace.record_event("iopin", "in", Value::Text("/datafeed 0".into()));
        trace.record_event("iopin", "in", Value::Text("/datafeed 0".into()));
        trace.record("room", "celsius", Value::Real(21.5));
        trace.record("room", "offset", Value::Signed(-3));
        let dir = std::env::temp_dir().join(format!("circuit-vcd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("unit.vcd");
        let file = File::create(&path).unwrap();
        assert_eq!(write(&[], &trace.kept(), file).unwrap(), 8);
        let mut parser = vcd::Parser::new(io::BufReader::new(File::open(&path).unwrap()));
        let header = parser.parse_header().unwrap();
        let find = |path: &[&str]| header.find_var(path).unwrap().clone();
        let level = find(&["circuit", "iopin", "level"]).code;
        let received = find(&["circuit", "iopin", "in"]).code;
        let ack = find(&["circuit", "clock", "ack"]).code;
        let celsius = find(&["circuit", "room", "celsius"]);
        assert_eq!(celsius.var_type, vcd::VarType::Real);
        let offset = find(&["circuit", "room", "offset"]).code;
        let commands: Vec<vcd::Command> = parser.map(Result::unwrap).collect();
        let levels: Vec<vcd::Value> = commands
            .iter()
            .filter_map(|c| match c {
                vcd::Command::ChangeScalar(id, value) if *id == level => Some(*value),
                _ => None,
            })
            .collect();
        assert_eq!(levels, [vcd::Value::V1, vcd::Value::V0]);
        let events = commands
            .iter()
            .filter(|c| matches!(c, vcd::Command::ChangeString(id, _) if *id == received))
            .count();
        assert_eq!(events, 2);
        assert!(commands.iter().any(
            |c| matches!(c, vcd::Command::ChangeString(id, s) if *id == ack && s == "[0,_1]")
        ));
        assert!(commands.iter().any(
            |c| matches!(c, vcd::Command::ChangeReal(id, v) if *id == celsius.code && *v == 21.5)
        ));
        let minus_three = commands.iter().find_map(|c| match c {
            vcd::Command::ChangeVector(id, bits) if *id == offset => Some(
                bits.iter()
                    .fold(0u64, |n, bit| n << 1 | u64::from(bit == vcd::Value::V1)),
            ),
            _ => None,
        });
        assert_eq!(minus_three.map(|n| n as i64), Some(-3));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_declared_lane_is_in_the_file_even_if_it_never_changed() {
        let trace = Trace::new();
        trace.keep_all();
        trace.declare("thermostat", "fan.out", Value::Text("".into()));
        trace.declare("thermostat", "fan.out", Value::Text("".into()));
        trace.declare("pin", "buzzer.0.out", Value::Text("".into()));
        trace.record("pin", "buzzer.0.out", Value::Text("1".into()));
        assert_eq!(trace.declared().len(), 2, "each declared once");
        let dir = std::env::temp_dir().join(format!("circuit-vcd-declared-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("declared.vcd");
        let file = File::create(&path).unwrap();
        assert_eq!(write(&trace.declared(), &trace.kept(), file).unwrap(), 1);
        let read = crate::observe::inputs::read(&path).unwrap();
        assert_eq!(read["thermostat.fan.out"], []);
        assert_eq!(
            read["pin.buzzer.0.out"],
            [(trace.kept()[0].at, "1".to_owned())]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
