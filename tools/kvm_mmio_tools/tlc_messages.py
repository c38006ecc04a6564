"""Split TLC's ``-tool`` output into its message envelopes, line by line as it arrives.

Why: TLC's verdicts, counts and traces are only reliable by message code; free text changes between
versions.  In ``-tool`` mode every message is wrapped as::

    @!@!@STARTMSG 2217:4 @!@!@
    ...body...
    @!@!@ENDMSG 2217 @!@!@

where 2217 is the code and 4 the severity class.  Envelopes nest, and a nested one may start in the
middle of a line (``: @!@!@STARTMSG 5001:0 @!@!@`` inside a 1000).  Some text is printed outside any
envelope: SANY's parse errors (before message 2219) and the output of Print/PrintT.
"""

from __future__ import annotations

import enum
import re

import attrs

__all__ = ["Message", "MessageReader", "Severity"]

_MARKER = re.compile(r"@!@!@(?:STARTMSG (-?\d+):(\d+)|ENDMSG (-?\d+)) @!@!@")


class Severity(enum.IntEnum):
    """TLC's message classes (tlc2.output.MP)."""

    INFO = 0
    ERROR = 1
    TLC_BUG = 2
    WARNING = 3
    STATE = 4


@attrs.frozen
class Message:
    """One envelope: its code, its class, its text (with nested messages' text inline), and the
    nested messages themselves."""

    code: int
    severity: int
    body: str
    children: tuple[Message, ...] = ()

    def codes(self) -> set[int]:
        """This message's code and the codes of every message nested in it."""
        found = {self.code}
        for child in self.children:
            found |= child.codes()
        return found


@attrs.define
class _Open:
    code: int
    severity: int
    parts: list[str] = attrs.Factory(list)
    children: list[Message] = attrs.Factory(list)

    def close(self) -> Message:
        return Message(self.code, self.severity, "".join(self.parts).rstrip(), tuple(self.children))


class MessageReader:
    """Feed lines (without their newline); get back, in order, top-level messages as they close and
    lines of text printed outside any envelope (as ``str``)."""

    def __init__(self) -> None:
        self._stack: list[_Open] = []

    def feed(self, line: str) -> list[Message | str]:
        events: list[Message | str] = []
        outside: list[str] = []
        position = 0
        for marker in _MARKER.finditer(line):
            self._text(line[position : marker.start()], outside)
            position = marker.end()
            if marker[1] is not None:
                self._stack.append(_Open(int(marker[1]), int(marker[2])))
            elif self._stack:
                self._close(events)
            else:
                outside.append(marker[0])
        rest = line[position:]
        self._text(rest, outside)
        ends_with_text = bool(rest) or position == 0
        if self._stack and ends_with_text:
            self._stack[-1].parts.append("\n")
        if outside or (not self._stack and position == 0):
            events.append("".join(outside))
        return events

    def close(self) -> list[Message]:
        """Messages still open when the output stopped (TLC was killed), closed as they are."""
        events: list[Message | str] = []
        while self._stack:
            self._close(events)
        return [event for event in events if isinstance(event, Message)]

    def _text(self, text: str, outside: list[str]) -> None:
        if not text:
            return
        if self._stack:
            self._stack[-1].parts.append(text)
        else:
            outside.append(text)

    def _close(self, events: list[Message | str]) -> None:
        message = self._stack.pop().close()
        if self._stack:
            self._stack[-1].children.append(message)
            self._stack[-1].parts.append(message.body)
        else:
            events.append(message)
