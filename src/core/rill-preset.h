/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-preset.h: a named way to start a conversation.
 *
 * A preset is a name, a system prompt, a model with its server, a
 * temperature and a history limit, kept in the "presets" setting. A
 * conversation started from one gets a copy of those values in its own
 * columns, so that editing or removing the preset later never changes a
 * conversation that already exists. */
#pragma once

#include <gio/gio.h>

#include "rill-store.h"

G_BEGIN_DECLS

typedef struct
{
  char   *name;
  char   *system_prompt;  /* "" for none: the preferences' prompt applies */
  char   *model;          /* "" for none: the model last chosen */
  char   *server;         /* a server id; "" for any that lists the model */
  double  temperature;    /* < 0: the server's default */
  guint   history_limit;  /* most recent messages sent; 0 for all */
} RillPreset;

#define RILL_TYPE_PRESET (rill_preset_get_type ())
GType       rill_preset_get_type     (void) G_GNUC_CONST;
/* Empty values: no prompt, any model, the server's temperature, and the
 * history limit the preferences have by default (50). */
RillPreset *rill_preset_new          (const char       *name);
RillPreset *rill_preset_copy         (const RillPreset *preset);
void        rill_preset_free         (RillPreset       *preset);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillPreset, rill_preset_free)

/* One element of the "presets" key (a{sv}), and back; NULL for a
 * dictionary without a name. Unknown keys are ignored. */
GVariant   *rill_preset_to_variant   (const RillPreset *preset);
RillPreset *rill_preset_from_variant (GVariant         *dict);

/* The presets of @settings' "presets" key, RillPresets in their order. */
GPtrArray  *rill_presets_load        (GSettings        *settings);
/* Writes @presets (RillPresets) to the "presets" key. */
void        rill_presets_save        (GSettings        *settings,
                                      GPtrArray        *presets);

/* Creates a conversation as rill_store_create_conversation_async() does,
 * in the same transaction with its copy of @preset: conversations.preset,
 * system_prompt, model, server, server_url (@server_url: the server's
 * address without user info, or NULL), temperature and history_limit.
 * Finish with rill_store_create_conversation_finish(). */
void        rill_store_create_conversation_from_preset_async (RillStore           *self,
                                                              const char          *title,
                                                              const RillPreset    *preset,
                                                              const char          *server_url,
                                                              GCancellable        *cancellable,
                                                              GAsyncReadyCallback  callback,
                                                              gpointer             user_data);

G_END_DECLS
