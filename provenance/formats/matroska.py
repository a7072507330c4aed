"""Matroska and WebM (EBML): segment info, tags and attachments.

ComfyUI's video nodes write their ``prompt``/``workflow`` as global tags (ffmpeg upper-cases
them: ``PROMPT``, ``WORKFLOW``); tools name themselves in ``WritingApp``/``MuxingApp``; a
workflow can also ride along as an attached file. The walk steps over clusters by their
sizes, follows the SeekHead to tags written after the media, and steps through clusters of
unknown size (live recordings) block by block.
"""

from __future__ import annotations

from provenance.formats.base import MAX_DEPTH, Findings, Source, StructureError, decode_text

_EBML = 0x1A45DFA3
_SEGMENT = 0x18538067
_SEEKHEAD, _SEEK, _SEEK_ID, _SEEK_POSITION = 0x114D9B74, 0x4DBB, 0x53AB, 0x53AC
_INFO, _TITLE, _MUXING_APP, _WRITING_APP = 0x1549A966, 0x7BA9, 0x4D80, 0x5741
_TAGS, _TAG, _SIMPLE_TAG, _TAG_NAME, _TAG_STRING = 0x1254C367, 0x7373, 0x67C8, 0x45A3, 0x4487
_ATTACHMENTS, _ATTACHED_FILE, _FILE_NAME, _FILE_MIME, _FILE_DATA = (
    0x1941A469,
    0x61A7,
    0x466E,
    0x4660,
    0x465C,
)
_CLUSTER = 0x1F43B675
# Elements that sit directly in a Segment: one of them ends a cluster of unknown size.
_TOP_LEVEL = frozenset(
    {_SEEKHEAD, _INFO, 0x1654AE6B, _TAGS, _ATTACHMENTS, _CLUSTER, 0x1C53BB6B, 0x1043A770}
)
_INFO_FIELDS = {_TITLE: "title", _MUXING_APP: "muxingapp", _WRITING_APP: "writingapp"}
_TEXT_MIMES = ("text/", "application/json", "application/xml")
_UNKNOWN = -1


def walk_matroska(src: Source, found: Findings) -> None:
    """The segment's info, tags and attachments, wherever they sit."""
    ident, size, body = _element(src, 0)
    if ident != _EBML:
        raise StructureError("corrupt Matroska: no EBML header")
    offset = body + size
    while offset < src.size:
        ident, size, body = _element(src, offset)
        found.count_item()
        if ident == _SEGMENT:
            end = src.size if size == _UNKNOWN else min(body + size, src.size)
            _Segment(src, found, body, end).walk()
            offset = end
        else:
            if size == _UNKNOWN:
                return
            offset = body + size


class _Segment:
    def __init__(self, src: Source, found: Findings, start: int, end: int) -> None:
        self.src, self.found, self.start, self.end = src, found, start, end
        self.visited: set[int] = set()
        self.seek_targets: list[int] = []

    def walk(self) -> None:
        offset = self.start
        while offset < self.end:
            ident, size, body = _element(self.src, offset)
            self.found.count_item()
            if ident == _CLUSTER and size == _UNKNOWN:
                offset = self.unsized_cluster(body)
                continue
            if size == _UNKNOWN:
                raise StructureError(f"corrupt Matroska: element of unknown size at {offset}")
            self.element(ident, offset, body, body + size)
            offset = body + size
        for target in self.seek_targets:  # tags or attachments the walk has not met
            if self.start <= target < self.end and target not in self.visited:
                ident, size, body = _element(self.src, target)
                if size != _UNKNOWN and ident in (_TAGS, _INFO, _ATTACHMENTS):
                    self.element(ident, target, body, min(body + size, self.end))

    def element(self, ident: int, offset: int, body: int, end: int) -> None:
        if offset in self.visited:
            return
        self.visited.add(offset)
        if ident == _SEEKHEAD:
            self.seek_head(body, end)
        elif ident == _INFO:
            for child, cbody, cend in self.children(body, end):
                if child in _INFO_FIELDS:
                    self.found.add_field(
                        "container-tag",
                        "Matroska info",
                        _INFO_FIELDS[child],
                        self.text(cbody, cend),
                    )
        elif ident == _TAGS:
            for child, cbody, cend in self.children(body, end):
                if child == _TAG:
                    for grand, gbody, gend in self.children(cbody, cend):
                        if grand == _SIMPLE_TAG:
                            self.simple_tag(gbody, gend, 0)
        elif ident == _ATTACHMENTS:
            for child, cbody, cend in self.children(body, end):
                if child == _ATTACHED_FILE:
                    self.attachment(cbody, cend)
        elif ident == _CLUSTER:
            self.found.count_data_block()

    def seek_head(self, body: int, end: int) -> None:
        for child, cbody, cend in self.children(body, end):
            if child != _SEEK:
                continue
            target_id, position = 0, None
            for grand, gbody, gend in self.children(cbody, cend):
                raw = self.src.read(gbody, min(gend - gbody, 8))
                if grand == _SEEK_ID:
                    target_id = int.from_bytes(raw, "big")
                elif grand == _SEEK_POSITION:
                    position = int.from_bytes(raw, "big")
            if target_id in (_TAGS, _INFO, _ATTACHMENTS) and position is not None:
                self.seek_targets.append(self.start + position)

    def simple_tag(self, body: int, end: int, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        name, value = "", ""
        for child, cbody, cend in self.children(body, end):
            if child == _TAG_NAME:
                name = self.text(cbody, cend)
            elif child == _TAG_STRING:
                value = self.text(cbody, cend)
            elif child == _SIMPLE_TAG:
                self.simple_tag(cbody, cend, depth + 1)
        self.found.add_field("container-tag", "Matroska tag", name.lower(), value)

    def attachment(self, body: int, end: int) -> None:
        name, mime, data = "", "", (0, 0)
        for child, cbody, cend in self.children(body, end):
            if child == _FILE_NAME:
                name = self.text(cbody, cend)
            elif child == _FILE_MIME:
                mime = self.text(cbody, cend)
            elif child == _FILE_DATA:
                data = (cbody, cend)
        self.found.add_field("container-tag", "Matroska attachment", "attachment", name)
        if mime.startswith(_TEXT_MIMES) or name.lower().endswith((".json", ".txt", ".xml")):
            stem = name.rsplit(".", 1)[0].lower()
            self.found.add_field(
                "container-tag", "Matroska attachment", stem, self.text(data[0], data[1])
            )

    def unsized_cluster(self, body: int) -> int:
        """Step through a cluster of unknown size; return where the next top element starts."""
        offset = body
        while offset < self.end:
            ident, size, child = _element(self.src, offset)
            if ident in _TOP_LEVEL:
                return offset
            if size == _UNKNOWN:
                raise StructureError(f"corrupt Matroska: block of unknown size at {offset}")
            self.found.count_data_block()
            offset = child + size
        return self.end

    def children(self, start: int, end: int):  # type: ignore[no-untyped-def]
        offset = start
        while offset < end:
            ident, size, body = _element(self.src, offset)
            self.found.count_item()
            if size == _UNKNOWN or body + size > end:
                raise StructureError(f"corrupt Matroska: element at {offset} overruns its parent")
            yield ident, body, body + size
            offset = body + size

    def text(self, start: int, end: int) -> str:
        return decode_text(self.src.read(start, self.found.item_length(end - start)))


def _element(src: Source, offset: int) -> tuple[int, int, int]:
    """(id, size or _UNKNOWN, offset of the body) of the EBML element at `offset`."""
    head = src.read(offset, 12, ahead=4096)
    if not head:
        raise StructureError(f"truncated Matroska: file ends at offset {offset}")
    ident, id_len = _vint(head, 0, keep_marker=True, max_len=4)
    size, size_len = _vint(head, id_len, keep_marker=False, max_len=8)
    return ident, size, offset + id_len + size_len


def _vint(data: bytes, at: int, *, keep_marker: bool, max_len: int) -> tuple[int, int]:
    if at >= len(data) or data[at] == 0:
        raise StructureError("corrupt Matroska: invalid variable-length integer")
    first = data[at]
    length = 8 - first.bit_length() + 1
    if length > max_len or at + length > len(data):
        raise StructureError("corrupt Matroska: invalid variable-length integer")
    value = first if keep_marker else first & (0xFF >> length)
    for b in data[at + 1 : at + length]:
        value = (value << 8) | b
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return _UNKNOWN, length
    return value, length
