"""Running commands and copying files on nodes over SSH (asyncssh, plus rsync/OpenSSH)."""
