"""The GraphQL contract (DESIGN.md section 5): Strawberry types wrapping `dynamo/` records."""
