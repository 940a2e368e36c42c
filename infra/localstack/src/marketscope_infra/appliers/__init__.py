"""How to make each kind of resource exist. Standard library and boto3 only: these
modules run inside the LocalStack container too."""
