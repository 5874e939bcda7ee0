"""What both HTTP apps share: errors as JSON, the OpenAPI builder, serving and stopping, logs."""
