/* rill-application.h: the store, the server and the settings every window shares. */
#pragma once

#include <adwaita.h>

#include "rill-core.h"

G_BEGIN_DECLS

#define RILL_TYPE_APPLICATION (rill_application_get_type ())
G_DECLARE_FINAL_TYPE (RillApplication, rill_application, RILL, APPLICATION, AdwApplication)

RillApplication *rill_application_new                 (void);
GSettings       *rill_application_get_settings        (RillApplication *self);
/* NULL when the database could not be opened; see get_store_error. */
RillStore       *rill_application_get_store           (RillApplication *self);
const GError    *rill_application_get_store_error     (RillApplication *self);
/* NULL until a server is known ("notify::provider"). */
RillProvider    *rill_application_get_provider        (RillApplication *self);
/* What was found at start, or how to add a server, in words. */
const char      *rill_application_get_provider_status (RillApplication *self);
/* Looks for the server again after the preferences changed. */
void             rill_application_reload_provider     (RillApplication *self);
/* Stops every reply, waits (bounded) for the store, and quits. */
void             rill_application_stop_and_quit       (RillApplication *self);

gboolean         rill_application_find_active_server (RillApplication   *self,
                                                      char             **id,
                                                      RillProviderKind  *kind,
                                                      char             **url);

G_END_DECLS
