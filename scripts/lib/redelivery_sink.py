#!/usr/bin/env python3
"""The smarthost of scripts/bench-redelivery: an aiosmtpd sink that is never killed. It writes each message's
Message-ID to DELIVERED when it takes the message (a recorded line is a delivery), and to TIMING the message's
recipient, when it took the message, when its 250 left and when and how the connection went on (CLOCK_REALTIME,
comparable with the kill times), so each duplicate can be put in the smarthost's or the gateway's part of the
window (RFC 1047).
  redelivery_sink.py PORT DELIVERED TIMING
"""
import asyncio, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
port, path, timing_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out, timing = open(path, "a"), open(timing_path, "a")

class Handler:
    async def handle_DATA(self, server, session, envelope):
        mid = "?"
        for line in envelope.original_content.split(b"\r\n"):
            if not line: break
            if line.lower().startswith(b"message-id:"): mid = line[11:].strip().decode("ascii", "replace")
        out.write(mid + "\n"); out.flush()
        server.took(mid, envelope.rcpt_tos[0] if envelope.rcpt_tos else "?")
        return "250 2.0.0 OK"


class TimedSMTP(SMTP):
    """Notes when the 250 for a taken message left and how the connection went on: `quit` (the gateway read the
    250 and said QUIT), `next` (it sent another message) or `lost` (it died; the time is when the sink noticed)."""
    taken = None
    answered = None

    def took(self, mid, recipient):
        self.settle("next")
        self.taken = (mid, recipient, time.time())

    async def push(self, status):
        taken, self.taken = self.taken, None
        if taken is None:
            return await super().push(status)
        self._writer.write(status.encode("ascii") + b"\r\n")
        self.answered = taken + (time.time(),)
        await self._writer.drain()

    def settle(self, how):
        if self.answered is None: return
        mid, recipient, taken, sent = self.answered
        self.answered = None
        timing.write("%s\t%s\t%.6f\t%.6f\t%.6f\t%s\n" % (mid, recipient, taken, sent, time.time(), how))
        timing.flush()

    async def smtp_QUIT(self, arg):
        self.settle("quit")
        return await super().smtp_QUIT(arg)

    def connection_lost(self, error):
        self.settle("lost")
        return super().connection_lost(error)


class TimedController(Controller):
    def factory(self):
        return TimedSMTP(self.handler, **self.SMTP_kwargs)

controller = TimedController(Handler(), hostname="127.0.0.1", port=port)
controller.start()
asyncio.get_event_loop().run_forever()
