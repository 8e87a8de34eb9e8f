"""An MQTT client driven over stdin/stdout, on Debian's python3-paho-mqtt (an independent
implementation for the broker conformance suite). One JSON command a line in, one JSON event a
line out. Run with /usr/bin/python3."""
import base64
import json
import os
import sys

import paho.mqtt.client as mqtt

client = None


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def on_connect(c, userdata, flags, rc, properties=None):
    emit(ev="connack", rc=int(rc) if not hasattr(rc, "value") else rc.value,
         sessionPresent=bool(flags.get("session present", 0)))


def on_message(c, userdata, msg):
    emit(ev="message", topic=msg.topic, payload=base64.b64encode(msg.payload).decode(),
         qos=msg.qos, retain=bool(msg.retain))


def on_subscribe(c, userdata, mid, granted, properties=None):
    emit(ev="suback", mid=mid, granted=[g if isinstance(g, int) else g.value for g in granted])


def on_publish(c, userdata, mid):
    emit(ev="published", mid=mid)


def on_disconnect(c, userdata, rc, properties=None):
    emit(ev="closed", rc=rc if isinstance(rc, int) else rc.value)


for line in sys.stdin:
    cmd = json.loads(line)
    op = cmd["op"]
    if op == "connect":
        v5 = cmd.get("version", 4) == 5
        client = mqtt.Client(client_id=cmd["clientId"], protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                             **({} if v5 else {"clean_session": cmd.get("clean", True)}))
        client.on_connect = on_connect
        client.on_message = on_message
        client.on_subscribe = on_subscribe
        client.on_publish = on_publish
        client.on_disconnect = on_disconnect
        if "will" in cmd:
            w = cmd["will"]
            client.will_set(w["topic"], base64.b64decode(w["payload"]), w.get("qos", 0), w.get("retain", False))
        client.connect(cmd["host"], cmd["port"], keepalive=cmd.get("keepalive", 60),
                       **({"clean_start": cmd.get("clean", True)} if v5 else {}))
        client.loop_start()
    elif op == "subscribe":
        rc, mid = client.subscribe(cmd["filter"], cmd.get("qos", 0))
        emit(ev="subscribing", mid=mid)
    elif op == "publish":
        info = client.publish(cmd["topic"], base64.b64decode(cmd["payload"]), cmd.get("qos", 0), cmd.get("retain", False))
        emit(ev="publishing", mid=info.mid)
    elif op == "disconnect":
        client.disconnect()
        client.loop_stop()
        emit(ev="bye")
    elif op == "kill":
        # the process dies with its socket open: the broker sees the connection drop, no DISCONNECT
        emit(ev="bye")
        os._exit(0)
