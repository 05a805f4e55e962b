# The snapshot job's token (CronJob openbao-raft-snapshot): read a snapshot of the Raft storage, nothing
# else. The token keeps the default policy, through which the job renews it on every run.
path "sys/storage/raft/snapshot" {
  capabilities = ["read"]
}
