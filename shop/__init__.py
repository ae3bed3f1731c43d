"""The shop's domain: money, catalogue, configuration, content validation.

Pure Python: this package imports neither pelican, stripe nor boto3.
"""
