//! `--reply-topic TEMPLATE`: where a subscribed sketch's acknowledgement of
//! a message goes when its publisher named no MQTT 5 response topic, such as
//! `{topic}/ack`, `{topic}` standing for the topic the message came on.

/// What `{topic}` stands for in a template.
pub const TOPIC: &str = "{topic}";

/// Checks a reply topic template (a flag's value parser): a topic to
/// publish to, once `{topic}` is replaced: not empty, no wildcard, no NUL.
///
/// # Errors
/// What is wrong with it, in words.
pub fn template(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("an empty reply topic (such as {topic}/ack)".to_owned());
    }
    if text.contains(['+', '#', '\0']) {
        return Err(format!(
            "the reply topic {text:?} holds a wildcard (+ or #) or a NUL: it is a topic to publish to, such as {{topic}}/ack"
        ));
    }
    Ok(text.to_owned())
}

/// The topic of the acknowledgement of a message received on `topic`.
#[cfg_attr(not(feature = "mqtt"), allow(dead_code))]
pub(crate) fn topic_for(template: &str, topic: &str) -> String {
    template.replace(TOPIC, topic)
}

/// Checks that the acknowledgements `template` publishes for messages of
/// `filter` are not messages of `filter` themselves: the loop would feed on
/// its own answers (each refused, its refusal answered in turn), for ever.
///
/// # Errors
/// That they would be, in words.
#[cfg_attr(not(feature = "mqtt"), allow(dead_code))]
pub(crate) fn outside(template: &str, filter: &str) -> Result<(), String> {
    // A topic the filter takes, its wildcards filled in.
    let taken: Vec<&str> = filter
        .split('/')
        .map(|level| match level {
            "+" | "#" => "x",
            level => level,
        })
        .collect();
    let reply = topic_for(template, &taken.join("/"));
    if matches(filter, &reply) {
        return Err(format!(
            "--reply-topic {template:?} publishes acknowledgements (such as on {reply:?}) that the subscription to {filter:?} takes back: the loop would feed on its own answers; choose a reply topic outside the filter"
        ));
    }
    Ok(())
}

/// Whether topic filter `filter` takes `topic` (`+` one level, `#` the rest).
fn matches(filter: &str, topic: &str) -> bool {
    let mut topic = topic.split('/');
    for level in filter.split('/') {
        match (level, topic.next()) {
            ("#", _) => return true,
            ("+", Some(_)) => {}
            (level, Some(given)) if level == given => {}
            _ => return false,
        }
    }
    topic.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_takes_the_messages_topic() {
        assert_eq!(topic_for("{topic}/ack", "home/fan"), "home/fan/ack");
        assert_eq!(topic_for("acks", "home/fan"), "acks");
        assert!(template("{topic}/ack").is_ok());
        assert!(template("").is_err());
        assert!(template("acks/#").unwrap_err().contains("wildcard"));
    }

    #[test]
    fn acknowledgements_stay_outside_the_filter() {
        assert!(outside("{topic}/ack", "pins/+").is_ok());
        assert!(outside("acks/{topic}", "pins/#").is_ok());
        assert!(outside("{topic}/ack", "pins/#").is_err());
        assert!(outside("acks/{topic}", "#").is_err());
        assert!(outside("pins/done", "pins/+").is_err());
        assert!(matches("a/+/c", "a/b/c"));
        assert!(!matches("a/+", "a/b/c"));
        assert!(matches("a/#", "a"));
    }
}
