"""Config dataclasses round-trip through their dicts, nested configs and old files included."""

import json

from genoseq.enhancers.model import EnhancerModelConfig
from genoseq.genes.scoring import DecoderParams, OverlapRules
from genoseq.nn.leaky import LeakyIntegratorConfig


def test_nested_configs_round_trip_through_json():
    params = DecoderParams(coding_weight=0.7, overlap=OverlapRules(penalty=3.5))
    again = DecoderParams.from_dict(json.loads(json.dumps(params.to_dict())))
    assert again == params
    assert isinstance(again.overlap, OverlapRules)
    config = EnhancerModelConfig()
    again = EnhancerModelConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert isinstance(again.integrator, LeakyIntegratorConfig)


def test_missing_keys_keep_their_defaults():
    # A config written before a field existed still loads.
    assert DecoderParams.from_dict({"coding_weight": 1.0}) == DecoderParams(coding_weight=1.0)
