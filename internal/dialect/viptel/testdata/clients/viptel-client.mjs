// A VIPTel client as a browser page would write it, using the WebSocket
// of the JavaScript runtime (Node: --experimental-websocket on 20, built
// in from 22). Usage: node viptel-client.mjs <url> <user> <password>
// Logs in, creates a call, waits for its events, logs out; exits 0 with
// "OK" when every message was the spec's, 1 otherwise.
import { createHash } from "node:crypto";

const [url, user, pass] = process.argv.slice(2);
const sha1 = (s) => createHash("sha1").update(s).digest("hex");
const fail = (why) => { console.error("FAIL " + why); process.exit(1); };
setTimeout(() => fail("timeout"), 15000).unref();

const conn = new WebSocket(url);
let step = "hello", uid = null, sawBegin = false, sawCreate = false;
conn.onerror = (e) => fail("socket error " + (e.message || e.type));
conn.onmessage = (ev) => {
  const m = JSON.parse(ev.data);
  switch (step) {
    case "hello":
      if (m.code !== 100 || !m.nonce) fail("hello " + ev.data);
      step = "login";
      conn.send(JSON.stringify({ action: "user.login", username: user, password: sha1(sha1(user + ":" + pass) + ":" + m.nonce) }));
      break;
    case "login":
      if (m.code !== 202 || m.message !== "Login successfull") fail("login " + ev.data);
      step = "call";
      conn.send(JSON.stringify({ action: "call.create", from: "42", to: "43", call_random_id: "node1" }));
      break;
    case "call":
      if (m.event === "call.create_response") {
        if (m.call_random_id !== "node1" || !/^\d+\.\d+$/.test(m.unique_id)) fail("create " + ev.data);
        uid = m.unique_id; sawCreate = true;
      } else if (m.event === "call.begin") {
        if (m.caller !== "42" || m.callee_name !== "Robert") fail("begin " + ev.data);
        sawBegin = true;
      } else if (m.code !== undefined) {
        fail("call " + ev.data);
      }
      if (sawCreate && sawBegin) {
        step = "hangup";
        conn.send(JSON.stringify({ action: "call.hangup", unique_id: uid }));
      }
      break;
    case "hangup":
      if (m.event === "call.end" && m.unique_id === uid) {
        step = "logout";
        conn.send(JSON.stringify({ action: "user.logout" }));
      }
      break;
    case "logout":
      if (m.code !== 110 || m.message !== "Bye") fail("logout " + ev.data);
      step = "closing";
      break;
    default:
      fail("after logout " + ev.data);
  }
};
conn.onclose = () => {
  if (step !== "closing") fail("closed at " + step);
  console.log("OK");
  process.exit(0);
};
