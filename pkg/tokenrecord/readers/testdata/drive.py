"""Test driver for the Python readers (run by readers_test.go, not shipped).

usage: drive.py boto3|powertools|extension
With TOKEN_READER_ROLE_ARN (and TOKEN_REGION, TOKEN_READER_DURATION) in the
environment, boto3 reads through reader_role.ssm_client, on the driver's clock.
Reads one JSON command per line on stdin and answers one JSON line on stdout:
  {"op": "get", "profile": "p"}  -> {"ok": true, "sha256": "...", "len": n}
                                    or {"ok": false, "kind": "...", "text": "<everything the error reaches>"}
  {"op": "advance", "seconds": s} -> {"ok": true}   (moves the reader's clock)
  {"op": "age"}                   -> {"ok": true}   (max_age passes: clock + max_age + 1, SDK caches cleared)
  {"op": "version"}               -> {"ok": true, "version": "3.10.16"}
The token itself is never printed, nor held in this driver's frames: only its hash and length.
"""

import hashlib
import json
import os
import platform
import sys
import time
import traceback

MAX_AGE = 300
offset = 0.0


def now():
    return time.time() + offset


def reachable(err):
    """Every text an error lets a caller reach: messages, reprs, attributes, chain, and the
    traceback with the locals of every frame, as error reporters print it."""
    parts, seen, todo = [], set(), [err]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        parts += [type(e).__name__, str(e), repr(e), repr(e.args), repr(getattr(e, "__dict__", {}))]
        parts += traceback.TracebackException(type(e), e, e.__traceback__, capture_locals=True).format(chain=False)
        todo += [e.__cause__, e.__context__]
    return "\n".join(parts)


def answer(get, profile, token_error):
    """The answer to a get. The token stays in this frame, which has returned before any
    later error's traceback is made."""
    try:
        tok = get(profile)
    except token_error as e:
        return {"ok": False, "kind": e.kind, "text": reachable(e)}
    except Exception as e:  # any other exception is a defect of the reader, but a refused name
        bad_name = isinstance(e, ValueError) and str(e).startswith("profile name")
        return {"ok": False, "kind": "invalid_profile" if bad_name else "unexpected " + type(e).__name__, "text": reachable(e)}
    return {"ok": True, "sha256": hashlib.sha256(tok.encode()).hexdigest(), "len": len(tok),
            "type": type(tok).__name__}


def main():
    global offset
    kind = sys.argv[1]
    if kind == "boto3":
        from boto3_reader import TokenReader
        client = None
        if os.environ.get("TOKEN_READER_ROLE_ARN"):  # a consumer in another account
            import reader_role
            client = reader_role.ssm_client(os.environ["TOKEN_READER_ROLE_ARN"], region=os.environ.get("TOKEN_REGION") or None,
                                            duration_seconds=int(os.environ.get("TOKEN_READER_DURATION", "3600")), now=now)
        reader = TokenReader(client, max_age=MAX_AGE, now=now)
        get = reader.token
        clear = lambda: None
    elif kind == "powertools":
        from aws_lambda_powertools.utilities import parameters
        import powertools_reader
        get = lambda p: powertools_reader.get_token(p, max_age=MAX_AGE, now=now)
        clear = parameters.clear_caches
    elif kind == "extension":
        import extension_reader
        get = lambda p: extension_reader.get_token(p, now=now)
        clear = lambda: None
    else:
        sys.exit(f"unknown reader {kind}")
    from tokenrecord import TokenError

    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "get":
            out = answer(get, cmd["profile"], TokenError)
        elif cmd["op"] == "version":
            out = {"ok": True, "version": platform.python_version()}
        elif cmd["op"] == "advance":
            offset += cmd["seconds"]
            out = {"ok": True}
        elif cmd["op"] == "age":
            offset += MAX_AGE + 1
            clear()
            out = {"ok": True}
        else:
            out = {"ok": False, "kind": "bad op"}
        print(json.dumps(out), flush=True)


main()
