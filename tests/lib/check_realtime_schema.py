#!/usr/bin/python3
"""Validate every client event voiceproxy sent to the fake Realtime server
against OpenAI's official schema (tests/data/openai-realtime-schemas.json,
JSON Schema 2020-12), with Debian's python3-jsonschema.

usage: check_realtime_schema.py RECORD.jsonl [SCHEMA.json]
RECORD lines are {"conn":N,"t":MS,"event":{...}} (fake_realtime --record).
Exit 0 when every event validates (and there is at least one), 1 otherwise.
"""
import json
import os
import sys

import jsonschema

COMPONENT = {
    "session.update": "RealtimeClientEventSessionUpdate",
    "input_audio_buffer.append": "RealtimeClientEventInputAudioBufferAppend",
    "input_audio_buffer.commit": "RealtimeClientEventInputAudioBufferCommit",
    "input_audio_buffer.clear": "RealtimeClientEventInputAudioBufferClear",
    "output_audio_buffer.clear": "RealtimeClientEventOutputAudioBufferClear",
    "conversation.item.create": "RealtimeClientEventConversationItemCreate",
    "conversation.item.truncate": "RealtimeClientEventConversationItemTruncate",
    "conversation.item.delete": "RealtimeClientEventConversationItemDelete",
    "conversation.item.retrieve": "RealtimeClientEventConversationItemRetrieve",
    "response.create": "RealtimeClientEventResponseCreate",
    "response.cancel": "RealtimeClientEventResponseCancel",
}


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    spath = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "data", "openai-realtime-schemas.json")
    with open(spath) as f:
        doc = json.load(f)
    try:  # jsonschema >= 4.18: the referencing library
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012
        registry = Registry().with_resource(
            "urn:openai-realtime", Resource.from_contents(doc, default_specification=DRAFT202012))

        def make(comp):
            return jsonschema.Draft202012Validator(
                {"$ref": "urn:openai-realtime#/components/schemas/" + comp}, registry=registry)
    except ImportError:
        resolver = jsonschema.RefResolver.from_schema(doc)

        def make(comp):
            return jsonschema.Draft202012Validator(
                {"$ref": "#/components/schemas/" + comp}, resolver=resolver)
    validators = {}
    counts, bad = {}, 0
    with open(sys.argv[1]) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            ev = rec.get("event")
            if ev is None:
                print(f"line {n}: not JSON: the client sent a frame that is not JSON", file=sys.stderr)
                bad += 1
                continue
            t = ev.get("type")
            comp = COMPONENT.get(t)
            if comp is None:
                print(f"line {n}: unknown client event type {t!r}", file=sys.stderr)
                bad += 1
                continue
            if comp not in validators:
                validators[comp] = make(comp)
            errs = list(validators[comp].iter_errors(ev))
            # the union every client event must satisfy, too
            if not errs:
                if "RealtimeClientEvent" not in validators:
                    validators["RealtimeClientEvent"] = make("RealtimeClientEvent")
                errs = list(validators["RealtimeClientEvent"].iter_errors(ev))
            if errs:
                bad += 1
                for e in errs[:3]:
                    print(f"line {n}: {t}: {e.message} at {list(e.absolute_path)}", file=sys.stderr)
            counts[t] = counts.get(t, 0) + 1
    total = sum(counts.values())
    print(f"schema: {total} events checked {counts}, {bad} invalid")
    return 0 if total and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
