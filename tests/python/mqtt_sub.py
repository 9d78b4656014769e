"""A plain paho-mqtt subscriber, no circuit code: subscribes to every
--topic, prints `ready` once the broker's SUBACK came (after a line
`refused TOPIC CODE` for each filter the broker refused), then one line per
message, `TOPIC PAYLOAD` (plus ` retain` when the retain flag is set),
flushed. Exits 0 after --count messages (--count 0: right after the SUBACK,
leaving a --no-clean session behind), 1 when the broker refuses the
connection or the messages do not come within --wait seconds."""

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
    parser.add_argument("--topic", action="append", required=True, help="a topic filter (repeatable)")
    parser.add_argument("--qos", type=int, default=1, choices=(0, 1, 2), help="the QoS asked for")
    parser.add_argument("--client-id", default="", help="the client id (needed with --no-clean)")
    parser.add_argument("--clean", action=argparse.BooleanOptionalAction, default=True,
                        help="start a clean session (--no-clean: resume and keep it)")
    parser.add_argument("--count", type=int, help="exit 0 after this many messages")
    parser.add_argument("--protocol", choices=("3", "5"), default="5", help="MQTT 3.1.1 or 5")
    parser.add_argument("--tls-ca", help="connect with TLS, trusting this CA file")
    parser.add_argument("--username", help="log in as this user")
    parser.add_argument("--password", help="with --username")
    parser.add_argument("--wait", type=float, default=60, help="give up (exit 1) after this many seconds")
    options = parser.parse_args()
    if not options.clean and not options.client_id:
        parser.error("--no-clean needs --client-id")
    return options


def say(line):
    print(line, flush=True)


def main():
    options = arguments()
    v5 = options.protocol == "5"
    done = threading.Event()
    outcome = {"code": 1, "got": 0}

    if v5:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=options.client_id,
                             protocol=mqtt.MQTTv5)
    else:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=options.client_id,
                             protocol=mqtt.MQTTv311, clean_session=options.clean)
    # Acknowledged by hand, inside on_message: the PUBACK of the last
    # message is then queued before the DISCONNECT, and a kept session does
    # not get that message again.
    client.manual_ack_set(True)
    if options.tls_ca:
        client.tls_set(ca_certs=options.tls_ca, cert_reqs=ssl.CERT_REQUIRED)
    if options.username:
        client.username_pw_set(options.username, options.password)

    def on_connect(client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            print(f"connect refused: {reason_code}", file=sys.stderr, flush=True)
            done.set()
            client.disconnect()
            return
        client.subscribe([(topic, options.qos) for topic in options.topic])

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        for topic, code in zip(options.topic, reason_codes):
            if code.is_failure:
                say(f"refused {topic} {code.value}")
        say("ready")
        if options.count == 0:
            outcome["code"] = 0
            done.set()

    def on_message(client, userdata, message):
        payload = message.payload.decode("utf-8", errors="replace")
        say(f"{message.topic} {payload}" + (" retain" if message.retain else ""))
        client.ack(message.mid, message.qos)
        outcome["got"] += 1
        if options.count is not None and outcome["got"] >= options.count:
            outcome["code"] = 0
            done.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message

    properties = None
    if v5 and not options.clean:
        # Under MQTT 5 a session ends with its connection unless it asks to be kept.
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
    if v5:
        client.connect(options.host, options.port, clean_start=options.clean, properties=properties)
    else:
        client.connect(options.host, options.port)
    client.loop_start()
    if not done.wait(options.wait):
        print(f"gave up after {options.wait} s with {outcome['got']} messages", file=sys.stderr, flush=True)
    client.disconnect()
    client.loop_stop()
    sys.exit(outcome["code"])


main()
