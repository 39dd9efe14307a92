"""The agent: runs on a cluster's head node and owns its job queue, job logs and autostop.

The client talks to it only by running ``python -m styx.agent --root DIR <command>`` on the head
(through the head's CommandRunner: a local process or an SSH channel), so the same code serves
every provider. Jobs are run by a detached driver process per job, which survives the client
disconnecting.
"""
