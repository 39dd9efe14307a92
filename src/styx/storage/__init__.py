"""Cloud storage: buckets in file_mounts, one store per cloud behind one interface
(:mod:`styx.storage.stores`), copied or mounted on the nodes by rclone (:mod:`styx.storage.rclone`).
"""
