/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-titler.h: a conversation named by the model that answered it.
 *
 * Optional and off by default ("name-conversations"). After a
 * conversation's first reply, one short request that does not stream asks
 * the same server and model for a title of a few words. It never holds up
 * a reply, is not stored as a message, and its failure costs only a line
 * in the log: the title from the first message stays. */
#pragma once

#include <gio/gio.h>

#include "rill-provider.h"

G_BEGIN_DECLS

void  rill_titler_request_async  (RillProvider        *provider,
                                  const char          *model,
                                  const char          *question,
                                  const char          *answer,
                                  guint                timeout_ms,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data);
/* The title, one line of at most 80 characters, or NULL with @error. */
char *rill_titler_request_finish (RillProvider        *provider,
                                  GAsyncResult        *result,
                                  GError             **error);

/* What a model's answer becomes as a title: its first line, without the
 * quotes, "Title:" or final full stop models like to add; NULL when
 * nothing is left. */
char *rill_titler_clean          (const char          *answer);

G_END_DECLS
