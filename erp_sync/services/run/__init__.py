"""What one run shares between its steps: `context.RunContext` (fixed when the run starts) and `RunProgress`."""
