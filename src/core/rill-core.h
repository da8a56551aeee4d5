/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-core.h: everything the window and the tests use from the core. */
#pragma once

#include "rill-types.h"
#include "rill-records.h"
#include "rill-store.h"
#include "rill-provider.h"
#include "rill-stream-parser.h"
#include "rill-reply.h"
#include "rill-keyring.h"
#include "rill-session.h"
#include "rill-toolbox.h"
#include "rill-tool-run.h"
