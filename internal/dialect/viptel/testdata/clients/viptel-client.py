#!/usr/bin/env python3
"""A VIPTel client in Python, with Debian's python3-websockets (10.4:
the asyncio API; websockets.sync is newer). Usage:

    python3 viptel-client.py <url> <user> <password>

Session 1 logs in with SHA1(SHA1(user:password):nonce), creates a call,
waits for its call.create_response and call.begin, hangs it up, waits for
call.end and logs out. Session 2 logs in with a wrong password. Every
message is printed as one normalised line (the nonce and unique id
replaced by what they must look like), then "OK"; anything unexpected
prints "FAIL ..." and exits 1.
"""

import asyncio
import hashlib
import json
import re
import sys

import websockets

STEP = 5.0  # seconds any one message may take


def sha1(s):
    return hashlib.sha1(s.encode()).hexdigest()


def fail(why):
    print("FAIL " + why, flush=True)
    sys.exit(1)


async def recv(ws):
    try:
        raw = await asyncio.wait_for(ws.recv(), STEP)
    except asyncio.TimeoutError:
        fail("no message within %gs" % STEP)
    if not isinstance(raw, str):
        fail("binary message %r" % raw)
    m = json.loads(raw)
    if not isinstance(m, dict):
        fail("not an object: " + raw)
    return m


async def expect(ws, tag):
    m = await recv(ws)
    print("%s %s %s" % (tag, m.get("code"), m.get("message")), flush=True)
    return m


async def closed(ws):
    """Waits for the server's close and prints its code."""
    try:
        m = await asyncio.wait_for(ws.recv(), STEP)
        fail("still open, got " + str(m))
    except websockets.exceptions.ConnectionClosed:
        pass
    except asyncio.TimeoutError:
        fail("not closed within %gs" % STEP)
    print("closed %s" % ws.close_code, flush=True)


async def hello(ws):
    m = await recv(ws)
    nonce = m.get("nonce", "")
    ok = "nonce" if re.fullmatch(r"[0-9a-f]{32}", nonce) else "bad-nonce:" + repr(nonce)
    print("hello %s %s %s" % (m.get("code"), m.get("message"), ok), flush=True)
    return nonce


async def session(url, user, password):
    async with websockets.connect(url) as ws:
        nonce = await hello(ws)
        # An action before the login is refused; the connection stays.
        await ws.send(json.dumps({"action": "call.create", "from": "42", "to": "43", "call_random_id": "early"}))
        await expect(ws, "early")
        await ws.send(json.dumps({"action": "user.login", "username": user,
                                  "password": sha1(sha1(user + ":" + password) + ":" + nonce)}))
        await expect(ws, "login")
        # Bad input names its fields.
        await ws.send(json.dumps({"action": "call.create", "from": "42"}))
        m = await expect(ws, "invalid")
        print("invalid-fields " + ",".join(e.get("field", "?") for e in m.get("errors", [])), flush=True)

        await ws.send(json.dumps({"action": "call.create", "from": "42", "to": "43", "call_random_id": "py1"}))
        uid, begin = None, None
        while uid is None or begin is None:
            m = await recv(ws)
            if m.get("event") == "call.create_response":
                if not re.fullmatch(r"\d+\.\d+", m.get("unique_id", "")):
                    fail("unique_id " + json.dumps(m))
                uid = m["unique_id"]
                print("create_response %s unique_id" % m.get("call_random_id"), flush=True)
            elif m.get("event") == "call.begin":
                begin = m
            else:
                fail("while creating: " + json.dumps(m))
        same = "unique_id" if begin.get("unique_id") == uid else "other:" + str(begin.get("unique_id"))
        print("begin %s %s %s %s %s %s" % (begin.get("caller"), begin.get("caller_name"), begin.get("callee"),
                                           begin.get("callee_name"), begin.get("called_number"), same), flush=True)

        await ws.send(json.dumps({"action": "call.hangup", "unique_id": uid}))
        while True:
            m = await recv(ws)
            if "code" in m:
                fail("hangup answered " + json.dumps(m))
            if m.get("event") == "call.end":
                same = "unique_id" if m.get("unique_id") == uid else "other:" + str(m.get("unique_id"))
                print("end %s %s" % (same, m.get("status")), flush=True)
                break

        await ws.send(json.dumps({"action": "user.logout"}))
        await expect(ws, "logout")
        await closed(ws)


async def wrong_password(url, user):
    async with websockets.connect(url) as ws:
        nonce = await hello(ws)
        await ws.send(json.dumps({"action": "user.login", "username": user,
                                  "password": sha1(sha1(user + ":not-the-password") + ":" + nonce)}))
        await expect(ws, "wrong")
        await expect(ws, "wrong")
        await closed(ws)


async def main(url, user, password):
    await session(url, user, password)
    await wrong_password(url, user)
    print("OK", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        fail("usage: viptel-client.py <url> <user> <password>")
    asyncio.run(main(*sys.argv[1:]))
