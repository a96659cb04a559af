"""A real LSP client (pygls' LanguageClient: framing, ids, capabilities)
driving `myhealthctl lsp` through the steps given as JSON on stdin, one
JSON result per step on stdout. tests/lsp.rs writes the steps and holds
the results to exact ranges and texts.

Usage: client.py SERVER [ARG...] < steps.json

Steps (each an object with "op"):
  open {uri, text}            -> the diagnostics published for version 1
  change {uri, text}          -> the diagnostics published for that version
  hover / completion / definition {uri, line, character}
  code_action {uri, line, character}   -> the code actions at that position
  request {method, params}    -> the result, or {"error": {code, message}}
  raw {bytes} or {hex}        -> written to the server's stdin as they are
                                 (malformed framing, bytes not UTF-8); null result
  wait_ms {ms}                -> a pause (e.g. for a lost message to be read)
"""

import asyncio
import json
import sys

from lsprotocol import converters, types
from pygls.exceptions import JsonRpcException
from pygls.lsp.client import LanguageClient

TIMEOUT = 60


async def main(cmd: list[str], steps: list[dict]) -> list:
    conv = converters.get_converter()
    client = LanguageClient("myhealth-test-client", "1")
    published: dict[tuple[str, int | None], asyncio.Future] = {}

    def waiter(uri: str, version: int) -> asyncio.Future:
        return published.setdefault((uri, version), asyncio.get_running_loop().create_future())

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams):
        fut = waiter(params.uri, params.version)
        if not fut.done():
            fut.set_result(conv.unstructure(params.diagnostics))

    await client.start_io(*cmd)
    caps = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(related_information=True),
        )
    )
    init = await client.initialize_async(types.InitializeParams(capabilities=caps, process_id=None))
    client.initialized(types.InitializedParams())
    results = [{"capabilities": conv.unstructure(init.capabilities)}]
    versions: dict[str, int] = {}

    def at(s: dict):
        return types.TextDocumentIdentifier(uri=s["uri"]), types.Position(line=s["line"], character=s["character"])

    for s in steps:
        op = s["op"]
        if op == "open":
            versions[s["uri"]] = 1
            fut = waiter(s["uri"], 1)
            client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(uri=s["uri"], language_id="toml", version=1, text=s["text"])
                )
            )
            results.append(await asyncio.wait_for(fut, TIMEOUT))
        elif op == "change":
            v = versions[s["uri"]] = versions[s["uri"]] + 1
            fut = waiter(s["uri"], v)
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=s["uri"], version=v),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=s["text"])],
                )
            )
            results.append(await asyncio.wait_for(fut, TIMEOUT))
        elif op == "hover":
            doc, pos = at(s)
            r = await client.text_document_hover_async(types.HoverParams(text_document=doc, position=pos))
            results.append(conv.unstructure(r))
        elif op == "completion":
            doc, pos = at(s)
            r = await client.text_document_completion_async(types.CompletionParams(text_document=doc, position=pos))
            results.append(conv.unstructure(r))
        elif op == "definition":
            doc, pos = at(s)
            r = await client.text_document_definition_async(types.DefinitionParams(text_document=doc, position=pos))
            results.append(conv.unstructure(r))
        elif op == "code_action":
            doc, pos = at(s)
            r = await client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=doc,
                    range=types.Range(start=pos, end=pos),
                    context=types.CodeActionContext(diagnostics=[]),
                )
            )
            results.append(conv.unstructure(r))
        elif op == "request":
            # Sent as given, even where the method's params have a type
            # (the point is params the server must refuse, not crash on).
            typed = client.protocol.get_message_type
            client.protocol.get_message_type = lambda _method: None
            try:
                fut = client.protocol.send_request_async(s["method"], s["params"])
                client.protocol.get_message_type = typed
                r = await asyncio.wait_for(fut, TIMEOUT)
                results.append(conv.unstructure(r) if not isinstance(r, (dict, list, type(None))) else r)
            except JsonRpcException as e:
                results.append({"error": {"code": e.code, "message": e.message}})
            finally:
                client.protocol.get_message_type = typed
        elif op == "raw":
            raw = bytes.fromhex(s["hex"]) if "hex" in s else s["bytes"].encode()
            client._server.stdin.write(raw)
            await client._server.stdin.drain()
            results.append(None)
        elif op == "wait_ms":
            await asyncio.sleep(s["ms"] / 1000)
            results.append(None)
        else:
            raise SystemExit(f"unknown step {op!r}")

    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    results.append({"exit_code": client._server.returncode})
    return results


if __name__ == "__main__":
    out = asyncio.run(main(sys.argv[1:], json.load(sys.stdin)))
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
