/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-window-tools.c: the tool loop of a window.
 *
 * A conversation that offers tools (conversations.tools, or the
 * "default-tools" setting for one not yet created) has them gathered before
 * a message goes out: the servers start, if they have not, and list their
 * tools (rill_toolbox_collect_async). A server that fails is named in the
 * banner, and the others are offered anyway. The person's words stay in
 * the composer until then, so a server slow to start loses nothing.
 *
 * Then replies and runs of calls take turns (rill-tool-run.h): a reply that
 * ends complete with calls gets a run, whose cards wait for the person;
 * once every call is decided and done, the next reply answers with the
 * results. The loop ends when a reply asks for nothing, when the person
 * stops it, or after "tool-step-limit" runs since the person last sent or
 * continued: the calls of the step over the limit are stopped and the
 * banner says why. A stopped loop carries on with Continue, which sends
 * what was decided so far. Only the conversation shown goes on by itself;
 * one looked away from waits for Continue. */

#include <glib/gi18n.h>

#include "rill-tool-card.h"
#include "rill-window-private.h"

/* The choice of the conversation shown, or of a new one. */
static RillToolChoice *
dup_choice (RillWindow *self)
{
  gint64 id = _rill_window_get_conversation_id (self);
  RillStore *store = _rill_window_get_store (self);
  g_autoptr(RillConversation) conversation = NULL;
  g_autofree char *json = NULL;

  if (id == 0 || store == NULL)
    json = g_settings_get_string (rill_session_get_settings (self->session), "default-tools");
  else if ((conversation = rill_store_get_conversation (store, id, NULL)) != NULL)
    json = g_strdup (rill_conversation_get_tools (conversation));
  return rill_tool_choice_new_from_json (json);
}

static void
collect_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(RillWindow) self = user_data;
  g_auto(GStrv) failures = NULL;
  g_autoptr(GPtrArray) offered = NULL;
  g_autoptr(GError) error = NULL;
  RillWindowToolsFor what = self->tools_for;
  gint64 id = self->tools_for_id;

  offered = rill_toolbox_collect_finish (RILL_TOOLBOX (object), result, &failures, &error);
  self->collecting = FALSE;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (failures != NULL)
    {
      g_autofree char *list = g_strjoinv ("; ", failures);
      g_autofree char *text = g_strdup_printf (_("Some tools are not available: %s"), list);

      _rill_window_show_banner (self, text);
    }
  g_clear_pointer (&self->loop_tools, g_ptr_array_unref);
  if (offered != NULL && offered->len > 0)
    self->loop_tools = g_ptr_array_ref (offered);
  _rill_window_update_actions (self);

  /* What was asked, now with the tools. */
  self->tools_ready = TRUE;
  switch (what)
    {
    case RILL_WINDOW_TOOLS_FOR_SEND:
      _rill_window_send (self);
      break;
    case RILL_WINDOW_TOOLS_FOR_REGENERATE:
      {
        RillMessageRow *row = rill_conversation_view_find_row (self->conversation_view, id);

        if (row != NULL)
          _rill_window_regenerate_from (self, row);
      }
      break;
    case RILL_WINDOW_TOOLS_FOR_CONTINUE:
    default:
      _rill_window_continue (self);
      break;
    }
  self->tools_ready = FALSE;
}

gboolean
_rill_window_tools_ensure (RillWindow         *self,
                           RillWindowToolsFor  what,
                           gint64              id)
{
  g_autoptr(RillToolChoice) choice = NULL;

  /* Called again from collect_cb, with the tools gathered. */
  if (self->tools_ready)
    return TRUE;
  if (self->collecting)
    return FALSE;

  self->loop_steps = 0;
  choice = dup_choice (self);
  if (choice == NULL || rill_tool_choice_is_empty (choice))
    {
      g_clear_pointer (&self->loop_tools, g_ptr_array_unref);
      return TRUE;
    }

  self->collecting = TRUE;
  self->tools_for = what;
  self->tools_for_id = id;
  _rill_window_update_actions (self);
  rill_toolbox_collect_async (rill_session_get_toolbox (self->session), choice,
                              self->cancellable, collect_cb, g_object_ref (self));
  return FALSE;
}

void
_rill_window_tools_fill_options (RillWindow       *self,
                                 RillReplyOptions *options)
{
  GSettings *settings = rill_session_get_settings (self->session);

  g_clear_pointer (&options->tools, g_ptr_array_unref);
  if (self->loop_tools != NULL)
    options->tools = g_ptr_array_ref (self->loop_tools);
  options->tool_result_max_bytes = g_settings_get_uint (settings, "tool-result-max-bytes");
}

static void
over_limit_started_cb (RillToolRun *run)
{
  rill_tool_run_stop (run);
}

void
_rill_window_tools_reply_finished (RillWindow *self,
                                   RillReply  *reply)
{
  GPtrArray *calls = rill_reply_get_tool_calls (reply);
  GSettings *settings = rill_session_get_settings (self->session);
  guint limit = g_settings_get_uint (settings, "tool-step-limit");
  g_autoptr(RillToolRun) run = NULL;

  if (rill_reply_get_status (reply) != RILL_STATUS_COMPLETE || calls == NULL ||
      calls->len == 0 || self->loop_tools == NULL ||
      rill_reply_get_conversation_id (reply) != _rill_window_get_conversation_id (self) ||
      rill_reply_get_store_error (reply) != NULL)
    return;

  run = rill_tool_run_new (_rill_window_get_store (self),
                           rill_session_get_toolbox (self->session),
                           rill_reply_get_conversation_id (reply),
                           rill_reply_get_message_id (reply),
                           calls, self->loop_tools,
                           g_settings_get_uint (settings, "tool-result-max-bytes"));
  if (++self->loop_steps > limit)
    {
      g_autofree char *text = NULL;

      /* The calls are written, and stopped, so that Continue finds them. */
      text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                           "The model asked for tools again after %u step, the "
                                           "limit set in Preferences. Continue lets it go on.",
                                           "The model asked for tools again after %u steps, the "
                                           "limit set in Preferences. Continue lets it go on.",
                                           limit),
                              limit);
      _rill_window_show_banner (self, text);
      g_signal_connect (run, "started", G_CALLBACK (over_limit_started_cb), NULL);
    }
  rill_conversation_view_start_tool_run (self->conversation_view, run);
  _rill_window_update_actions (self);
}

void
_rill_window_tools_run_finished (RillWindow  *self,
                                 RillToolRun *run)
{
  const GError *store_error = rill_tool_run_get_store_error (run);

  if (store_error != NULL)
    {
      g_autofree char *text = g_strdup_printf (_("A tool result could not be saved: %s"),
                                               store_error->message);

      _rill_window_show_banner (self, text);
    }
  _rill_window_update_actions (self);
  /* Decided: the keyboard goes back to where the next words are typed. */
  {
    GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));

    if (focus != NULL && gtk_widget_get_ancestor (focus, RILL_TYPE_TOOL_CARD) != NULL)
      gtk_widget_grab_focus (GTK_WIDGET (self->composer));
  }
  /* Every call decided and done: the model answers with the results. */
  if (rill_tool_run_can_continue (run) && store_error == NULL &&
      rill_tool_run_get_conversation_id (run) == _rill_window_get_conversation_id (self) &&
      rill_conversation_view_get_reply (self->conversation_view) == NULL &&
      rill_conversation_view_get_tool_run (self->conversation_view) == NULL)
    _rill_window_start_reply (self, rill_tool_run_get_conversation_id (run), NULL, 0);
}
