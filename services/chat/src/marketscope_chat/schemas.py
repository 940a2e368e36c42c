"""HTTP request and response models of the chat service.

There are none yet: the service has no routes besides health. The routes that come with
the conversations and analysis jobs bring their models here.
"""
