"""Presidio's analyzer and anonymizer HTTP services, as LiteLLM's Presidio guardrail calls them.

LiteLLM's guardrail does not run Presidio itself: it posts each text to a Presidio analyzer
service (`PRESIDIO_ANALYZER_API_BASE` + `analyze`) and the results to an anonymizer service
(`PRESIDIO_ANONYMIZER_API_BASE` + `anonymize`), which LiteLLM's docs deploy as Presidio's two
Docker images. Those images are Flask apps (Presidio's `presidio-analyzer/app.py` and
`presidio-anonymizer/app.py`) around `AnalyzerEngine` and `AnonymizerEngine`. No image can be
pulled here, so this serves the same two routes with the same request and response JSON,
around the same engines, in one Starlette process on loopback. The analyzer runs on the model
the bench gives Presidio everywhere (en_core_web_sm 3.8.0, from its folder: nothing is
downloaded); engine calls run one at a time in a worker thread, as a one-worker service would.

python -m bench.peers.presidio_service --port PORT
"""

from __future__ import annotations

import argparse
import json
import os
from functools import partial
from typing import Any

import uvicorn
from anyio import CapacityLimiter, to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bench.presidio_peer import model_path


def create_app() -> Starlette:
    # Offline: Presidio's email recognizer would fetch the public suffix list (bench/presidio_peer.py).
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    from presidio_analyzer import AnalyzerEngine, AnalyzerRequest
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.services.app_entities_convertor import AppEntitiesConvertor

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": model_path()}],
        }
    )
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    anonymizer = AnonymizerEngine()
    limiter = CapacityLimiter(1)

    async def analyze(request: Request) -> Response:
        query = AnalyzerRequest(await request.json())
        if not query.text or not query.language:
            return JSONResponse(
                {"error": "No text provided" if not query.text else "No language provided"}, 500
            )
        results = await to_thread.run_sync(
            partial(
                analyzer.analyze,
                text=query.text,
                language=query.language,
                entities=query.entities,
                correlation_id=query.correlation_id,
                score_threshold=query.score_threshold,
                return_decision_process=query.return_decision_process,
                ad_hoc_recognizers=query.ad_hoc_recognizers,
                context=query.context,
                allow_list=query.allow_list,
                allow_list_match=query.allow_list_match,
                regex_flags=query.regex_flags,
            ),
            limiter=limiter,
        )
        body = json.dumps(results, default=_without_metadata, sort_keys=True)
        return Response(body, media_type="application/json")

    async def anonymize(request: Request) -> Response:
        content = await request.json()
        operators = AppEntitiesConvertor.operators_config_from_json(content.get("anonymizers"))
        results = AppEntitiesConvertor.analyzer_results_from_json(content.get("analyzer_results"))
        result = await to_thread.run_sync(
            partial(
                anonymizer.anonymize, text=content.get("text"), analyzer_results=results, operators=operators
            ),
            limiter=limiter,
        )
        return Response(result.to_json(), media_type="application/json")

    async def health(request: Request) -> Response:
        return PlainTextResponse("Presidio service is up")

    return Starlette(
        routes=[
            Route("/analyze", analyze, methods=["POST"]),
            Route("/anonymize", anonymize, methods=["POST"]),
            Route("/health", health),
        ]
    )


def _without_metadata(result: Any) -> Any:
    # Presidio's app drops recognition_metadata from what it returns.
    return {k: v for k, v in result.to_dict().items() if k != "recognition_metadata"}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
