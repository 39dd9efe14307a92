"""SSH node pools: machines you already have, listed in $STYX_HOME/ssh_node_pools.yaml."""
