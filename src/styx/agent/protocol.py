"""Markers the agent puts around a job's streamed output, for the client to pick out.

The leading record separator keeps them from ever matching a line a job prints.
"""

MARK_SUBMITTED = "\x1estyx-submitted "
MARK_FINISHED = "\x1estyx-finished "
