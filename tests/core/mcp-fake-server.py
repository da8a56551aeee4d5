#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# A scripted MCP server on stdio for the cases the reference server does not
# show: pages of tools, a ping from the server, logging, a list that
# changes, a JSON-RPC error, a call it never answers until cancelled (and
# what it was told), and programs that misbehave.
#
#   mcp-fake-server.py MODE
#
# MODE: "normal"; "garbage-exit" (prints a banner instead of answering, then
# exits 1); "silent" (never answers); "stubborn" (answers, then ignores EOF
# on stdin and SIGTERM).
import json
import os
import signal
import sys
import threading
import time

mode = sys.argv[1] if len(sys.argv) > 1 else "normal"
lock = threading.Lock()
state = {"pong": None, "cancelled": None, "slow_id": None, "slow_token": None, "changed": False}
slow_stop = threading.Event()


def send(message):
    with lock:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()


def answer(request_id, result):
    send({"jsonrpc": "2.0", "id": request_id, "result": result})


def text(value):
    return {"content": [{"type": "text", "text": value}]}


def tool(name):
    return {"name": name, "description": "the " + name + " tool",
            "inputSchema": {"type": "object", "properties": {}}}


def slow(request_id, token):
    step = 0
    while not slow_stop.wait(0.05):
        step += 1
        send({"jsonrpc": "2.0", "method": "notifications/progress",
              "params": {"progressToken": token, "progress": step, "total": 1000,
                         "message": "step %d" % step}})


def call(request_id, params):
    name = params.get("name")
    if name == "pong-seen":
        answer(request_id, text(json.dumps(state["pong"])))
    elif name == "slow":
        state["slow_id"] = request_id
        state["slow_token"] = params.get("_meta", {}).get("progressToken")
        threading.Thread(target=slow, args=(request_id, state["slow_token"]), daemon=True).start()
    elif name == "cancelled":
        answer(request_id, text(json.dumps({"cancelled": state["cancelled"],
                                            "slow_id": state["slow_id"],
                                            "token": state["slow_token"]})))
    elif name == "change":
        state["changed"] = True
        send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
        answer(request_id, text("changed"))
    elif name == "fail":
        send({"jsonrpc": "2.0", "id": request_id,
              "error": {"code": -32000, "message": "the tool broke"}})
    elif name == "tool-error":
        answer(request_id, {"content": [{"type": "text", "text": "no such file"}],
                            "isError": True, "structuredContent": {"code": 2}})
    elif name == "exit":
        sys.stderr.write("fatal: out of cheese\n")
        sys.stderr.write("giving up\n")
        sys.stderr.flush()
        os._exit(3)
    else:
        send({"jsonrpc": "2.0", "id": request_id,
              "error": {"code": -32602, "message": "Unknown tool: %s" % name}})


def handle(message):
    method = message.get("method")
    request_id = message.get("id")
    params = message.get("params") or {}
    if method is None:
        if request_id == "srv-1":
            state["pong"] = message
        return
    if method == "initialize":
        if mode == "silent":
            return
        answer(request_id, {"protocolVersion": params.get("protocolVersion"),
                            "capabilities": {"tools": {"listChanged": True}, "logging": {}},
                            "serverInfo": {"name": "fake", "version": "1"}})
    elif method == "notifications/initialized":
        send({"jsonrpc": "2.0", "method": "notifications/message",
              "params": {"level": "info", "logger": "fake", "data": "hello from the fake"}})
    elif method == "notifications/cancelled":
        state["cancelled"] = params
        slow_stop.set()
    elif method == "tools/list":
        cursor = params.get("cursor")
        if cursor is None:
            send({"jsonrpc": "2.0", "id": "srv-1", "method": "ping"})
            answer(request_id, {"tools": [tool("pong-seen"), tool("slow"), tool("cancelled")],
                                "nextCursor": "page-2"})
        elif cursor == "page-2":
            tools = [tool("change"), tool("fail"), tool("tool-error"), tool("exit")]
            if state["changed"]:
                tools.append(tool("added"))
            answer(request_id, {"tools": tools})
        else:
            send({"jsonrpc": "2.0", "id": request_id,
                  "error": {"code": -32602, "message": "bad cursor"}})
    elif method == "tools/call":
        call(request_id, params)
    elif request_id is not None:
        send({"jsonrpc": "2.0", "id": request_id,
              "error": {"code": -32601, "message": "Method not found"}})


def main():
    if mode == "garbage-exit":
        sys.stdout.write("Welcome to the server!\n")
        sys.stdout.flush()
        sys.stderr.write("stderr line 1\nstderr line 2\n")
        sys.stderr.flush()
        sys.exit(1)
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.stderr.write("fake MCP server, mode %s\n" % mode)
    sys.stderr.flush()
    for line in sys.stdin:
        handle(json.loads(line))
    if mode == "stubborn":
        while True:
            time.sleep(60)


main()
