#!/usr/bin/env python3
"""sns_envelope.py - builds AWS SNS envelopes signed with a test key, for
tests/e2e/t_sns.sh and the benchmark.

  sns_envelope.py make SIGN KEY TYPE [NAME=VALUE...]
      prints one envelope (JSON) on stdout.  SIGN is the sns-sign tool,
      KEY the RSA signing key (PEM), TYPE Notification,
      SubscriptionConfirmation or UnsubscribeConfirmation.  NAME=VALUE
      sets a field before signing (Message=@FILE reads the file's bytes
      as UTF-8); the defaults are a fresh MessageId, Timestamp now,
      SignatureVersion 2.  Options, also NAME=VALUE:
        age=SECONDS        Timestamp that long ago (negative: ahead)
        after.NAME=VALUE   sets a field after signing (a tampered
                           envelope); after.NAME= with nothing drops it
        raw.NAME=JSON      adds a field that is not signed (JSON value)
  sns_envelope.py string FILE
      prints the string AWS signs for the envelope in FILE (no newline
      added), to check it against the vectors: see MANIFEST.md of
      vectors/sns.

The string to sign: for a Notification the names and values of Message,
MessageId, Subject (when present), Timestamp, TopicArn, Type; for a
confirmation Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn,
Type; each followed by a newline.
"""
import datetime
import json
import subprocess
import sys
import uuid

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp",
                       "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp",
                       "Token", "TopicArn", "Type")


def string_to_sign(env):
    fields = (NOTIFICATION_FIELDS if env.get("Type") == "Notification"
              else CONFIRMATION_FIELDS)
    out = []
    for name in fields:
        if name == "Subject" and name not in env:
            continue
        out.append("%s\n%s\n" % (name, env.get(name, "")))
    return "".join(out)


def timestamp(age_s):
    t = (datetime.datetime.now(datetime.timezone.utc) -
         datetime.timedelta(seconds=age_s))
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (
        t.microsecond // 1000)


def value_of(v):
    if v.startswith("@"):
        with open(v[1:], "rb") as f:
            return f.read().decode("utf-8")
    return v


def make(sign, key, typ, args):
    env = {"Type": typ, "MessageId": str(uuid.uuid4()),
           "SignatureVersion": "2"}
    after, raw, age = [], [], 0.0
    for a in args:
        name, sep, v = a.partition("=")
        if not sep:
            raise SystemExit("sns_envelope.py: %s: not NAME=VALUE" % a)
        if name == "age":
            age = float(v)
        elif name.startswith("after."):
            after.append((name[6:], v))
        elif name.startswith("raw."):
            raw.append((name[4:], json.loads(v)))
        else:
            env[name] = value_of(v)
    env.setdefault("Timestamp", timestamp(age))
    p = subprocess.run([sign, key, env["SignatureVersion"]],
                       input=string_to_sign(env).encode("utf-8"),
                       stdout=subprocess.PIPE, check=True)
    env["Signature"] = p.stdout.decode().strip()
    for name, v in after:
        if v == "":
            env.pop(name, None)
        else:
            env[name] = value_of(v)
    for name, v in raw:
        env[name] = v
    # SNS escapes '/' and writes non-ASCII as is; the order of the keys
    # does not matter to a verifier.
    sys.stdout.write(json.dumps(env, indent=2, ensure_ascii=False) + "\n")


def main(argv):
    if len(argv) >= 5 and argv[1] == "make":
        make(argv[2], argv[3], argv[4], argv[5:])
    elif len(argv) == 3 and argv[1] == "string":
        with open(argv[2], "rb") as f:
            env = json.loads(f.read().decode("utf-8"))
        sys.stdout.write(string_to_sign(env))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
