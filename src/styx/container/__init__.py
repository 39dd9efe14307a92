"""Containers on VM, SSH-pool and local nodes: ``image_id: docker:<image>`` (SkyPilot's syntax).

The node boots its own image; the runtime starts one long-lived container per node
(:mod:`styx.container.engine` builds the node-side script, :mod:`styx.container.setup` runs it on
every node) and the head's agent runs ``setup``/``run`` inside it with ``docker exec``
(:mod:`styx.agent.incontainer`). The agent itself stays on the host.
"""
