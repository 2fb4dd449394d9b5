"""`make bench-peers`: Veil side by side with the tools people put in front of the OpenAI API.

Every target runs as its own process against one fake upstream (`bench.peers.upstream`, the
bench's own `bench.upstream` that also keeps the last request bodies it received), and gets
the same prompts: direct (no gateway), Veil in both tiers, Presidio in a minimal proxy,
LiteLLM's proxy alone and with its Presidio guardrail. LLM Guard is listed with the reason it
cannot run here (`bench.peers.targets.NOT_RUN`).

python -m bench.peers            # full run (~12 minutes), updates docs/benchmarks.md
python -m bench.peers --quick    # a smoke run with few samples; writes nothing
"""
