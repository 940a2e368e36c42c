"""The AWS deployment: one CloudFormation template generated from the resource spec (so
the emulator's resources and AWS's cannot drift), plus what only AWS needs: ECS on
Fargate, service discovery, a load balancer in front of the gateway, autoscaling and one
least-privilege task role per service."""
