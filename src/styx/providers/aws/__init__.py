"""AWS EC2 provider (boto3). Nothing here is imported unless the AWS provider is asked for."""
