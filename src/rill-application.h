/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-application.h: the lifecycle, and the actions that are not a
 * window's. The state every window shares is the session. */
#pragma once

#include <adwaita.h>

#include "rill-core.h"

G_BEGIN_DECLS

#define RILL_TYPE_APPLICATION (rill_application_get_type ())
G_DECLARE_FINAL_TYPE (RillApplication, rill_application, RILL, APPLICATION, AdwApplication)

RillApplication *rill_application_new            (void);
RillSession     *rill_application_get_session    (RillApplication *self);
/* Stops every reply, waits (bounded) for the store, and quits. */
void             rill_application_stop_and_quit  (RillApplication *self);

G_END_DECLS
