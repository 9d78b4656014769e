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
}
