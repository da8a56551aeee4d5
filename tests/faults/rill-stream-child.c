/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Streams one reply into a database until it is killed. Used by
 * test-crash: argv = DB_PATH BASE_URL. Prints "started" once the rows are
 * committed and the request is on its way. */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rill-core.h"

static gboolean
orphaned_cb (gpointer data)
{
  if (getppid () != GPOINTER_TO_INT (data))
    exit (3);
  return G_SOURCE_CONTINUE;
}

static void
started_cb (RillReply *reply, gpointer data)
{
  printf ("started %" G_GINT64_FORMAT "\n", rill_reply_get_message_id (reply));
  fflush (stdout);
}

static void
created_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  RillProvider *provider = data;
  g_autoptr(GError) error = NULL;
  gint64 conversation = rill_store_create_conversation_finish (RILL_STORE (source), result, &error);
  RillReplyOptions options;
  RillReply *reply;

  if (error != NULL)
    g_error ("%s", error->message);
  rill_reply_options_init (&options);
  options.model = g_strdup ("m");
  reply = rill_reply_new (RILL_STORE (source), provider, conversation, "stream until killed",
                          &options);
  rill_reply_options_clear (&options);
  g_signal_connect (reply, "started", G_CALLBACK (started_cb), NULL);
  rill_reply_start (reply);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  RillStore *store;
  RillProvider *provider;

  if (argc != 3)
    return 2;
  store = rill_store_open (argv[1], &error);
  if (store == NULL)
    g_error ("%s", error->message);
  provider = rill_provider_new (RILL_PROVIDER_OPENAI, argv[2], NULL);
  rill_store_create_conversation_async (store, "killed", NULL, created_cb, provider);
  g_timeout_add (100, orphaned_cb, GINT_TO_POINTER (getppid ()));
  for (;;)
    g_main_context_iteration (NULL, TRUE);
}
