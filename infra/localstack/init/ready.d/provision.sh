#!/bin/sh
# LocalStack runs the executable *.sh files of /etc/localstack/init/ready.d once its
# services answer. docker-compose mounts ./infra/localstack at /opt/marketscope/infra.
# apply.py needs only the standard library and boto3: LocalStack's own virtualenv has
# both (the image's PATH does not always lead python3 there, hence the explicit choice).
set -eu
PYTHON=python3
if [ -x /opt/code/localstack/.venv/bin/python ]; then
    PYTHON=/opt/code/localstack/.venv/bin/python
fi
exec "$PYTHON" /opt/marketscope/infra/src/marketscope_infra/apply.py \
    --endpoint http://localhost:4566 \
    --region "${AWS_DEFAULT_REGION:-us-east-1}" \
    --spec /opt/marketscope/infra/resources.json
