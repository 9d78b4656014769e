"""A plain paho-mqtt publisher, no circuit code: publishes each message (the
arguments after the options, else one per line of stdin) to --topic, in
order, and waits for every PUBACK (QoS 1) or PUBCOMP (QoS 2). With
--response-topic (MQTT 5) it subscribes to that topic first, sends it as
each message's Response Topic, and prints each response as `TOPIC PAYLOAD`,
flushed. Exits 0 when every message was acknowledged (and, with
--response-topic, one response per message came), 1 when the broker
refuses the connection or that does not happen within --wait seconds,
2 on wrong usage."""

import argparse
import ssl
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def arguments():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="the broker's address")
    parser.add_argument("--port", type=int, required=True, help="the broker's port")
    parser.add_argument("--topic", required=True, help="the topic to publish to")
    parser.add_argument("--qos", type=int, default=1, choices=(0, 1, 2), help="the QoS of each message")
    parser.add_argument("--protocol", choices=("3", "5"), default="5", help="MQTT 3.1.1 or 5")
    parser.add_argument("--response-topic", help="MQTT 5: ask for responses there, and print them")
    parser.add_argument("--retain", action="store_true", help="set the retain flag")
    parser.add_argument("--tls-ca", help="connect with TLS, trusting this CA file")
    parser.add_argument("--username", help="log in as this user")
    parser.add_argument("--password", help="with --username")
    parser.add_argument("--client-id", default="", help="the client id")
    parser.add_argument("--wait", type=float, default=20, help="give up (exit 1) after this many seconds")
    parser.add_argument("messages", nargs="*", help="the payloads (default: one per stdin line)")
    options = parser.parse_args()
    if options.response_topic and options.protocol != "5":
        parser.error("--response-topic needs --protocol 5")
    return options


def main():
    options = arguments()
    messages = options.messages or [line.rstrip("\n") for line in sys.stdin]
    v5 = options.protocol == "5"
    connected = threading.Event()
    subscribed = threading.Event()
    answered = threading.Event()
    state = {"refused": None, "responses": 0}

    protocol = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=options.client_id, protocol=protocol)
    if options.tls_ca:
        client.tls_set(ca_certs=options.tls_ca, cert_reqs=ssl.CERT_REQUIRED)
    if options.username:
        client.username_pw_set(options.username, options.password)

    def on_connect(client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            state["refused"] = str(reason_code)
            client.disconnect()
        connected.set()

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        if reason_codes[0].is_failure:
            state["refused"] = f"subscription to {options.response_topic}: {reason_codes[0]}"
        subscribed.set()

    def on_message(client, userdata, message):
        payload = message.payload.decode("utf-8", errors="replace")
        print(f"{message.topic} {payload}", flush=True)
        state["responses"] += 1
        if state["responses"] >= len(messages):
            answered.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message

    def fail(why):
        print(why, file=sys.stderr, flush=True)
        client.disconnect()
        client.loop_stop()
        sys.exit(1)

    client.connect(options.host, options.port)
    client.loop_start()
    if not connected.wait(options.wait):
        fail(f"no CONNACK within {options.wait} s")
    if state["refused"]:
        fail(f"connect refused: {state['refused']}")

    properties = None
    if options.response_topic:
        client.subscribe(options.response_topic, qos=1)
        if not subscribed.wait(options.wait):
            fail(f"no SUBACK within {options.wait} s")
        if state["refused"]:
            fail(f"refused: {state['refused']}")
        properties = Properties(PacketTypes.PUBLISH)
        properties.ResponseTopic = options.response_topic

    sent = [client.publish(options.topic, message, qos=options.qos, retain=options.retain,
                           properties=properties) for message in messages]
    for info in sent:
        try:
            info.wait_for_publish(options.wait)
        except (RuntimeError, ValueError) as error:
            fail(f"message {info.mid} not published: {error}")
        if not info.is_published():
            fail(f"no acknowledgement for message {info.mid} within {options.wait} s")

    if options.response_topic and messages and not answered.wait(options.wait):
        fail(f"{state['responses']} of {len(messages)} responses within {options.wait} s")
    client.disconnect()
    client.loop_stop()


main()
