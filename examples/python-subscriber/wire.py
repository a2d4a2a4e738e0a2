"""Confluent wire format + schema registry (ccompat API) + Avro decoding with python3-avro.

A record value is: magic byte 0, a 4-byte big-endian schema id, then the Avro binary body. The
writer schema is fetched once per id from GET <registry>/schemas/ids/<id> and cached.
"""
from __future__ import annotations

import io
import json
import struct
import urllib.request
from typing import Any, Optional

import avro.io
import avro.schema


class WireError(ValueError):
    pass


def split_frame(frame: bytes) -> tuple:
    if len(frame) < 5:
        raise WireError(f"record of {len(frame)} bytes is shorter than the 5-byte header")
    if frame[0] != 0:
        raise WireError(f"record starts with byte {frame[0]}, not the magic byte 0")
    (schema_id,) = struct.unpack(">i", frame[1:5])
    if schema_id < 0:
        raise WireError(f"negative schema id {schema_id}")
    return schema_id, frame[5:]


def _strip_logical_types(node: Any) -> Any:
    """Times are epoch-millisecond longs in the approval format: keep them as ints, not datetimes."""
    if isinstance(node, dict):
        return {k: _strip_logical_types(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [_strip_logical_types(v) for v in node]
    return node


class _BranchNamingReader(avro.io.DatumReader):
    """Unions with several non-null branches come back as {branch full name: value} (Avro's JSON
    encoding), so the action's type is known; a null-or-one-type union stays the plain value."""

    def read_union(self, writers_schema, readers_schema, decoder):  # noqa: D102 (avro API)
        index = int(decoder.read_long())
        if index >= len(writers_schema.schemas):
            raise WireError(f"union branch {index} does not exist")
        selected = writers_schema.schemas[index]
        value = self.read_data(selected, selected, decoder)
        non_null = [s for s in writers_schema.schemas if s.type != "null"]
        if len(non_null) > 1 and selected.type != "null":
            name = getattr(selected, "fullname", None) or selected.type
            return {name: value}
        return value


class Registry:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._readers: dict = {}
        self.requests = 0

    def _get(self, path: str) -> Any:
        self.requests += 1
        request = urllib.request.Request(self.base_url + path, headers={"accept": "application/vnd.schemaregistry.v1+json"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read().decode("utf-8"))

    def reader_for(self, schema_id: int) -> tuple:
        cached = self._readers.get(schema_id)
        if cached is None:
            text = self._get(f"/schemas/ids/{schema_id}")["schema"]
            schema = avro.schema.parse(json.dumps(_strip_logical_types(json.loads(text))))
            cached = (schema, _BranchNamingReader(schema, schema))
            self._readers[schema_id] = cached
        return cached

    def decode(self, frame: bytes, expect_record: Optional[str] = None) -> dict:
        schema_id, body = split_frame(frame)
        schema, reader = self.reader_for(schema_id)
        if expect_record is not None and getattr(schema, "fullname", None) != expect_record:
            raise WireError(f"schema id {schema_id} is {getattr(schema, 'fullname', schema.type)}, not {expect_record}")
        buffer = io.BytesIO(body)
        value = reader.read(avro.io.BinaryDecoder(buffer))
        if buffer.tell() != len(body):
            raise WireError(f"{len(body) - buffer.tell()} trailing bytes after the Avro body")
        return value
