#!/bin/sh
# The testee with the gateway's default JSON options (emitUnpopulated: true), for runners that pass no
# arguments to the program they start.
exec "$(dirname "$0")/testee.sh" --gateway-defaults "$@"
