"""Serving: the promoted model of each strategy behind a Ray Serve scoring endpoint.

``serving.deploy`` starts or updates the Serve application ``raydesk-scoring``;
``serving.client`` implements ``core.ports.Scorer`` over a deployment handle or HTTP.
Importing this package does not import Ray.
"""

APP_NAME = "raydesk-scoring"

__all__ = ["APP_NAME"]
