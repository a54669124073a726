#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 The dhat-trace developers
# embed.sh AGENT.so OUT.S: an assembler file holding the agent's bytes as
# dt_agent_blob .. dt_agent_blob_end, linked into dhat-trace (src/inject.c).
set -e
so=$(realpath "$1")
cat > "$2" <<END
	.section .rodata.dt_agent,"a"
	.balign 64
	.globl dt_agent_blob
	.hidden dt_agent_blob
dt_agent_blob:
	.incbin "$so"
	.globl dt_agent_blob_end
	.hidden dt_agent_blob_end
dt_agent_blob_end:
	.section .note.GNU-stack,"",@progbits
END
