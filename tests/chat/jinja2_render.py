#!/usr/bin/env python3
"""Renders chat-template cases with Python's jinja2 as Hugging Face's apply_chat_template does
(sandboxed, trim_blocks, lstrip_blocks, loop controls, its tojson, raise_exception and
strftime_now), for comparison with hearth's renderer.

usage: jinja2_render.py CASES.json OUT.json
CASES.json: [{"template": FILE, "messages": [...], "add_generation_prompt": bool,
              "bos_token": str, "eos_token": str, "variables": {...}, "now": unix seconds}]
OUT.json:   [{"rendered": str} or {"error": str}] in the same order.
Exits 77 when jinja2 is not installed, so the caller can skip.
"""
import json
import sys
from datetime import datetime

try:
    import jinja2
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment
except ImportError:
    sys.exit(77)


def make_environment(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.fromtimestamp(now).strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    results = []
    for case in cases:
        env = make_environment(case.get("now", 0))
        with open(case["template"], encoding="utf-8") as f:
            source = f.read()
        variables = {"tools": None, "documents": None}
        variables.update(case.get("variables", {}))
        try:
            rendered = env.from_string(source).render(
                messages=case["messages"],
                add_generation_prompt=case.get("add_generation_prompt", False),
                bos_token=case.get("bos_token", ""), eos_token=case.get("eos_token", ""),
                **variables)
            results.append({"rendered": rendered})
        except Exception as e:  # the case's expected outcome is that it fails
            results.append({"error": f"{type(e).__name__}: {e}"})
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
