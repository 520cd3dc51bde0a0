"""A receiving mail server for Hippo's tests: an aiosmtpd handler that
writes every accepted message to DIR as one JSON file (Message-ID,
envelope, subject, decoded text body, raw bytes), durably and atomically,
before it answers 250. With STOP_AFTER, the server stores that many
messages, answers 421 to any more, and exits: an outage in the middle of
a batch, with no message both stored and unacknowledged. With
SMTP_SINK_FSYNC=0 in the environment it does not fsync (the throughput
benchmark's second setting: the sender's ceiling rather than the disk's).

    /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c smtp_sink.Sink DIR [STOP_AFTER]

(with this file's directory on PYTHONPATH)
"""

import asyncio
import email
import email.policy
import json
import os
import uuid


class Sink:
    def __init__(self, directory, stop_after=None):
        self.directory = directory
        self.stop_after = int(stop_after) if stop_after else None
        self.stored = 0
        self.fsync = os.environ.get("SMTP_SINK_FSYNC", "1") != "0"
        os.makedirs(directory, exist_ok=True)

    @classmethod
    def from_cli(cls, parser, *args):
        if not 1 <= len(args) <= 2:
            parser.error("smtp_sink.Sink takes DIR [STOP_AFTER]")
        return cls(*args)

    async def handle_DATA(self, server, session, envelope):
        if self.stop_after is not None and self.stored >= self.stop_after:
            return "421 4.3.2 service shutting down"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        record = {
            "message_id": str(message["Message-ID"]),
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "body": body.get_content() if body is not None else "",
            "raw": envelope.content.decode("utf-8", "replace"),
        }
        name = uuid.uuid4().hex
        partial = os.path.join(self.directory, "." + name)
        with open(partial, "w", encoding="utf-8") as f:
            json.dump(record, f)
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
        os.rename(partial, os.path.join(self.directory, name + ".json"))
        self.stored += 1
        if self.stop_after is not None and self.stored >= self.stop_after:
            # Long enough for this 250 to reach the client.
            asyncio.get_running_loop().call_later(0.3, os._exit, 0)
        return "250 2.0.0 OK"
