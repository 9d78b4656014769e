"""Browses `_circuit._tcp.local.` with python-zeroconf for ARGV[1] seconds and
prints one JSON line per instance seen: its name, port, addresses and TXT."""

import json
import sys
import time

from zeroconf import ServiceBrowser, ServiceListener, Zeroconf

SERVICE = "_circuit._tcp.local."


class Collect(ServiceListener):
    def __init__(self):
        self.names = set()

    def add_service(self, zc, type_, name):
        self.names.add(name)

    def update_service(self, zc, type_, name):
        self.names.add(name)

    def remove_service(self, zc, type_, name):
        self.names.discard(name)


zc = Zeroconf()
listener = Collect()
ServiceBrowser(zc, SERVICE, listener)
time.sleep(float(sys.argv[1]))
for name in sorted(listener.names):
    info = zc.get_service_info(SERVICE, name, timeout=3000)
    if info is None:
        continue
    txt = {key.decode(): (value or b"").decode() for key, value in info.properties.items()}
    print(json.dumps({
        "name": name,
        "port": info.port,
        "addresses": info.parsed_addresses(),
        "txt": txt,
    }), flush=True)
zc.close()
