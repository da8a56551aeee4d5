/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-conversation-view.c
 *
 * Opening a conversation reads its rows from the store (a short read on the
 * main thread). A reply keeps going when the person looks at another
 * conversation: its rows stay alive here and are put back when they come
 * back. The view follows the end of the conversation unless the person
 * scrolled up.
 *
 * What it shows is one path through the conversation's tree (see
 * rill-store-tree.c). Picking another version of a message keeps the rows
 * above it, which are the same on every path through it, and replaces the
 * rows from it down; the store remembers the choice.
 *
 * A tool's result is a card, not a message row: stored ones are read with
 * the path, and the calls of the run going on (see rill-tool-run.h) get
 * live cards that stay when the person looks elsewhere and comes back, as
 * a reply's rows do. The view shows a run and says when it ended; the
 * window decides what comes next. */

#include <glib/gi18n.h>

#include "rill-conversation-view-private.h"
#include "rill-message-row-private.h"
#include "rill-tool-card.h"

struct _RillConversationView
{
  AdwBin             parent_instance;

  /* Template widgets */
  GtkStack          *stack;
  AdwStatusPage     *welcome_page;
  GtkButton         *add_server_button;
  GtkScrolledWindow *scroller;
  GtkBox            *messages_box;

  /* Owned */
  RillSession       *session;
  GSignalGroup      *store_signals;     /* the session's store, once open */
  RillReply         *reply;             /* streaming, or NULL */
  RillMessageRow    *reply_row;
  RillMessageRow    *reply_user_row;
  RillToolRun       *tool_run;          /* deciding or running, or NULL */
  GPtrArray         *tool_cards;        /* the run's live RillToolCards */
  char              *title;

  gint64             conversation_id;
  gint64             scroll_to_message_id;
  guint              scroll_tick_id;
  guint              scroll_frames;
  guint              follow_end : 1;
};

G_DEFINE_FINAL_TYPE (RillConversationView, rill_conversation_view, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_SESSION,
  PROP_CONVERSATION_ID,
  PROP_TITLE,
  PROP_REPLY,
  PROP_STREAMING,
  PROP_TOOL_RUN,
  N_PROPS
};

enum {
  EDIT,
  REGENERATE,
  CONTINUE,
  REPLY_FINISHED,
  TOOL_RUN_FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static RillStore *
get_store (RillConversationView *self)
{
  return self->session ? rill_session_get_store (self->session) : NULL;
}

/* State */

gint64
rill_conversation_view_get_conversation_id (RillConversationView *self)
{
  g_return_val_if_fail (RILL_IS_CONVERSATION_VIEW (self), 0);
  return self->conversation_id;
}

const char *
rill_conversation_view_get_title (RillConversationView *self)
{
  g_return_val_if_fail (RILL_IS_CONVERSATION_VIEW (self), NULL);
  return self->title;
}

RillReply *
rill_conversation_view_get_reply (RillConversationView *self)
{
  g_return_val_if_fail (RILL_IS_CONVERSATION_VIEW (self), NULL);
  return self->reply;
}

RillToolRun *
rill_conversation_view_get_tool_run (RillConversationView *self)
{
  g_return_val_if_fail (RILL_IS_CONVERSATION_VIEW (self), NULL);
  return self->tool_run;
}

/* A run waiting for the person counts: Stop ends it, and nothing else can
 * be sent until it is decided or stopped. */
gboolean
rill_conversation_view_get_streaming (RillConversationView *self)
{
  g_return_val_if_fail (RILL_IS_CONVERSATION_VIEW (self), FALSE);

  return (self->reply != NULL &&
          rill_reply_get_conversation_id (self->reply) == self->conversation_id) ||
         (self->tool_run != NULL &&
          rill_tool_run_get_conversation_id (self->tool_run) == self->conversation_id);
}

static void
refresh_title (RillConversationView *self)
{
  g_autoptr(RillConversation) conversation = NULL;
  const char *title = NULL;

  if (self->conversation_id != 0 && get_store (self) != NULL)
    conversation = rill_store_get_conversation (get_store (self), self->conversation_id, NULL);
  if (conversation != NULL)
    title = rill_conversation_get_title (conversation);
  if (title == NULL || *title == '\0')
    title = _("New Conversation");

  if (g_strcmp0 (self->title, title) == 0)
    return;
  g_free (self->title);
  self->title = g_strdup (title);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

static void
set_conversation_id (RillConversationView *self,
                     gint64                conversation_id)
{
  gboolean was_streaming = rill_conversation_view_get_streaming (self);

  if (self->conversation_id != conversation_id)
    {
      self->conversation_id = conversation_id;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONVERSATION_ID]);
    }
  if (was_streaming != rill_conversation_view_get_streaming (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STREAMING]);
}

/* The reply and its rows are set and cleared together. */
static void
set_reply (RillConversationView *self,
           RillReply            *reply,
           RillMessageRow       *user_row,
           RillMessageRow       *reply_row)
{
  gboolean was_streaming = rill_conversation_view_get_streaming (self);

  if (self->reply != NULL)
    g_signal_handlers_disconnect_by_data (self->reply, self);
  g_set_object (&self->reply, reply);
  g_set_object (&self->reply_user_row, user_row);
  g_set_object (&self->reply_row, reply_row);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REPLY]);
  if (was_streaming != rill_conversation_view_get_streaming (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STREAMING]);
}

/* Rows */

RillMessageRow *
rill_conversation_view_get_last_row (RillConversationView *self,
                                     RillRole              role)
{
  g_return_val_if_fail (RILL_IS_CONVERSATION_VIEW (self), NULL);

  for (GtkWidget *child = gtk_widget_get_last_child (GTK_WIDGET (self->messages_box));
       child != NULL;
       child = gtk_widget_get_prev_sibling (child))
    if (RILL_IS_MESSAGE_ROW (child) &&
        rill_message_row_get_role (RILL_MESSAGE_ROW (child)) == role)
      return RILL_MESSAGE_ROW (child);
  return NULL;
}

RillMessageRow *
rill_conversation_view_get_last_row_with_versions (RillConversationView *self)
{
  g_return_val_if_fail (RILL_IS_CONVERSATION_VIEW (self), NULL);

  for (GtkWidget *child = gtk_widget_get_last_child (GTK_WIDGET (self->messages_box));
       child != NULL;
       child = gtk_widget_get_prev_sibling (child))
    if (RILL_IS_MESSAGE_ROW (child) &&
        rill_message_row_get_n_versions (RILL_MESSAGE_ROW (child)) > 1)
      return RILL_MESSAGE_ROW (child);
  return NULL;
}

RillMessageRow *
rill_conversation_view_find_row (RillConversationView *self,
                                 gint64                message_id)
{
  g_return_val_if_fail (RILL_IS_CONVERSATION_VIEW (self), NULL);

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->messages_box));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (RILL_IS_MESSAGE_ROW (child) &&
        rill_message_row_get_message_id (RILL_MESSAGE_ROW (child)) == message_id)
      return RILL_MESSAGE_ROW (child);
  return NULL;
}

/* Only the last row offers to regenerate, retry or continue. */
static void
update_last_flags (RillConversationView *self)
{
  GtkWidget *last = gtk_widget_get_last_child (GTK_WIDGET (self->messages_box));

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->messages_box));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (RILL_IS_MESSAGE_ROW (child))
      rill_message_row_set_is_last (RILL_MESSAGE_ROW (child), child == last);
    else if (RILL_IS_TOOL_CARD (child))
      rill_tool_card_set_is_last (RILL_TOOL_CARD (child), child == last);
}

static void update_page (RillConversationView *self);

static void
card_continue_cb (RillConversationView *self)
{
  g_signal_emit (self, signals[CONTINUE], 0, NULL);
}

/* Stored and live cards alike. */
static void
append_card (RillConversationView *self,
             GtkWidget            *card)
{
  g_signal_handlers_disconnect_by_data (card, self);
  g_signal_connect_object (card, "continue", G_CALLBACK (card_continue_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_box_append (self->messages_box, card);
  update_last_flags (self);
  update_page (self);
}

static void
update_page (RillConversationView *self)
{
  gboolean empty = gtk_widget_get_first_child (GTK_WIDGET (self->messages_box)) == NULL;

  gtk_stack_set_visible_child_name (self->stack, empty ? "welcome" : "messages");
}

static void
update_welcome (RillConversationView *self)
{
  const GError *store_error = self->session ? rill_session_get_store_error (self->session) : NULL;
  g_autofree char *description = NULL;
  g_autofree char *escaped = NULL;

  if (store_error != NULL)
    description = g_strdup_printf (_("The history could not be opened: %s"), store_error->message);
  else if (self->session != NULL && rill_session_get_store_waiting (self->session))
    description = g_strdup (_("Waiting for the history: another program is using it"));
  else if (self->session != NULL)
    description = g_strdup (rill_session_get_provider_status (self->session));
  /* The description is markup; an address or an error may hold "&" or "<". */
  escaped = g_markup_escape_text (description ? description : "", -1);
  adw_status_page_set_description (self->welcome_page, escaped);
  gtk_widget_set_visible (GTK_WIDGET (self->add_server_button),
                          self->session != NULL &&
                          rill_session_get_provider (self->session) == NULL);
}

static void
row_edit_cb (RillConversationView *self,
             RillMessageRow       *row)
{
  g_signal_emit (self, signals[EDIT], 0, row);
}

static void
row_regenerate_cb (RillConversationView *self,
                   RillMessageRow       *row)
{
  g_signal_emit (self, signals[REGENERATE], 0, row);
}

static void
row_continue_cb (RillConversationView *self,
                 RillMessageRow       *row)
{
  g_signal_emit (self, signals[CONTINUE], 0, row);
}

static void row_show_version_cb (RillConversationView *self,
                                 int                   offset,
                                 RillMessageRow       *row);

static void
append_row (RillConversationView *self,
            RillMessageRow       *row)
{
  g_signal_connect_object (row, "show-version", G_CALLBACK (row_show_version_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (row, "edit", G_CALLBACK (row_edit_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (row, "regenerate", G_CALLBACK (row_regenerate_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (row, "retry", G_CALLBACK (row_regenerate_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (row, "continue", G_CALLBACK (row_continue_cb), self, G_CONNECT_SWAPPED);
  gtk_box_append (self->messages_box, GTK_WIDGET (row));
  update_last_flags (self);
  update_page (self);
}

static void
clear_rows (RillConversationView *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->messages_box))) != NULL)
    {
      /* The rows of a reply streaming elsewhere live on, and must not
       * reach this view from there. */
      g_signal_handlers_disconnect_by_data (child, self);
      gtk_box_remove (self->messages_box, child);
    }
}

void
rill_conversation_view_remove_rows_from (RillConversationView *self,
                                         RillMessageRow       *from)
{
  GtkWidget *child = GTK_WIDGET (from);

  g_return_if_fail (RILL_IS_CONVERSATION_VIEW (self));
  g_return_if_fail (gtk_widget_get_parent (GTK_WIDGET (from)) == GTK_WIDGET (self->messages_box));

  while (child != NULL)
    {
      GtkWidget *next = gtk_widget_get_next_sibling (child);

      g_signal_handlers_disconnect_by_data (child, self);
      gtk_box_remove (self->messages_box, child);
      child = next;
    }
  update_last_flags (self);
}

/* Scrolling: follow the end unless the person scrolled up */

static void
follow_end (RillConversationView *self)
{
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (self->scroller);

  if (self->follow_end)
    gtk_adjustment_set_value (adj,
                              gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj));
}

static void
adjustment_changed_cb (RillConversationView *self,
                       GParamSpec           *pspec,
                       GtkAdjustment        *adj)
{
  follow_end (self);
}

static void
adjustment_value_changed_cb (RillConversationView *self,
                             GtkAdjustment        *adj)
{
  double bottom = gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj);

  /* Only a move away from the end (the person scrolling up) stops following;
   * text arriving moves the end, which is handled in adjustment_changed_cb. */
  self->follow_end = gtk_adjustment_get_value (adj) >= bottom - 48;
}

static gboolean
scroll_tick_cb (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       user_data)
{
  RillConversationView *self = RILL_CONVERSATION_VIEW (widget);
  RillMessageRow *row = rill_conversation_view_find_row (self, self->scroll_to_message_id);
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (self->scroller);
  graphene_point_t point;

  if (row != NULL &&
      gtk_widget_compute_point (GTK_WIDGET (row), GTK_WIDGET (self->messages_box),
                                &GRAPHENE_POINT_INIT (0, 0), &point))
    {
      GtkWidget *clamp = gtk_widget_get_parent (GTK_WIDGET (self->messages_box));
      graphene_point_t in_clamp;

      if (gtk_widget_compute_point (GTK_WIDGET (row), clamp,
                                    &GRAPHENE_POINT_INIT (0, 0), &in_clamp))
        point = in_clamp;
      self->follow_end = FALSE;
      gtk_adjustment_set_value (adj, MAX (0, point.y - 12));
    }

  /* Labels above settle their wrapped height over a few frames. */
  if (++self->scroll_frames < 4)
    return G_SOURCE_CONTINUE;

  if (row != NULL)
    gtk_widget_remove_css_class (GTK_WIDGET (row), "found");
  self->scroll_tick_id = 0;
  return G_SOURCE_REMOVE;
}

static void
scroll_to_message (RillConversationView *self,
                   gint64                message_id)
{
  RillMessageRow *row = rill_conversation_view_find_row (self, message_id);

  if (row == NULL)
    return;
  gtk_widget_add_css_class (GTK_WIDGET (row), "found");
  self->scroll_to_message_id = message_id;
  self->scroll_frames = 0;
  self->follow_end = FALSE;
  if (self->scroll_tick_id == 0)
    self->scroll_tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), scroll_tick_cb,
                                                         NULL, NULL);
}

/* Opening */

/* The argument text of call @call_id, from the assistant message before
 * @index on @path that asked for it. */
static const char *
find_call_arguments (GPtrArray  *path,
                     guint       index,
                     const char *call_id)
{
  for (guint i = index; i-- > 0;)
    {
      RillMessage *message = g_ptr_array_index (path, i);
      GPtrArray *calls;

      if (rill_message_get_role (message) != RILL_ROLE_ASSISTANT)
        continue;
      calls = rill_message_get_tool_calls (message);
      for (guint j = 0; calls != NULL && j < calls->len; j++)
        {
          RillToolCall *call = g_ptr_array_index (calls, j);

          if (g_strcmp0 (call->id, call_id) == 0)
            return call->arguments ? call->arguments->str : NULL;
        }
      return NULL;
    }
  return NULL;
}

static RillToolCard *
find_live_card (RillConversationView *self,
                gint64                message_id)
{
  for (guint i = 0; self->tool_cards != NULL && i < self->tool_cards->len; i++)
    {
      RillToolCard *card = g_ptr_array_index (self->tool_cards, i);

      if (rill_tool_card_get_message_id (card) == message_id)
        return card;
    }
  return NULL;
}

static GtkWidget *
make_tool_card (RillConversationView *self,
                GPtrArray            *path,
                guint                 index)
{
  RillMessage *message = g_ptr_array_index (path, index);
  RillToolCard *card = find_live_card (self, rill_message_get_id (message));
  g_autoptr(GPtrArray) images = NULL;
  const char *arguments;

  if (card != NULL)
    return GTK_WIDGET (card);
  images = rill_store_list_attachments (get_store (self), rill_message_get_id (message), NULL);
  arguments = find_call_arguments (path, index, rill_message_get_tool_call_id (message));
  return GTK_WIDGET (rill_tool_card_new_stored (message, arguments, images));
}

/* Appends a row for each message of @path from @from on. */
static void
append_path (RillConversationView *self,
             GPtrArray            *path,
             guint                 from)
{
  for (guint i = from; path != NULL && i < path->len; i++)
    {
      RillMessage *message = g_ptr_array_index (path, i);
      RillMessageRow *row = NULL;

      if (rill_message_get_role (message) == RILL_ROLE_SYSTEM)
        continue;
      if (rill_message_get_role (message) == RILL_ROLE_TOOL)
        {
          append_card (self, make_tool_card (self, path, i));
          continue;
        }

      /* The reply still streaming here keeps its live row. */
      if (self->reply != NULL && self->reply_row != NULL &&
          rill_reply_get_message_id (self->reply) == rill_message_get_id (message))
        row = self->reply_row;
      else if (self->reply != NULL && self->reply_user_row != NULL &&
               rill_reply_get_user_message_id (self->reply) == rill_message_get_id (message))
        row = self->reply_user_row;
      else
        row = rill_message_row_new_for_message (message);
      if (row == self->reply_row || row == self->reply_user_row)
        rill_message_row_set_versions (row, rill_message_get_version (message),
                                       rill_message_get_n_versions (message));
      append_row (self, row);
    }
}

/* The rows shown know their versions: after a new version was written, or
 * another window wrote one. */
static void
refresh_versions (RillConversationView *self)
{
  g_autoptr(GPtrArray) path = NULL;

  if (self->conversation_id == 0 || get_store (self) == NULL ||
      !(path = rill_store_list_path (get_store (self), self->conversation_id, 0, NULL)))
    return;
  for (guint i = 0; i < path->len; i++)
    {
      RillMessage *message = g_ptr_array_index (path, i);
      RillMessageRow *row = rill_conversation_view_find_row (self, rill_message_get_id (message));

      if (row != NULL)
        rill_message_row_set_versions (row, rill_message_get_version (message),
                                       rill_message_get_n_versions (message));
    }
}

gboolean
rill_conversation_view_show_version (RillConversationView *self,
                                     RillMessageRow       *row,
                                     int                   offset)
{
  g_autoptr(GArray) versions = NULL;
  g_autoptr(GPtrArray) path = NULL;
  RillStore *store = get_store (self);
  gint64 id, target = 0;
  guint kept = 0;

  g_return_val_if_fail (RILL_IS_CONVERSATION_VIEW (self), FALSE);
  g_return_val_if_fail (RILL_IS_MESSAGE_ROW (row), FALSE);

  id = rill_message_row_get_message_id (row);
  if (store == NULL || id == 0 || gtk_widget_get_parent (GTK_WIDGET (row)) !=
      GTK_WIDGET (self->messages_box))
    return FALSE;
  if (!(versions = rill_store_list_versions (store, id, NULL)))
    return FALSE;
  for (guint i = 0; i < versions->len; i++)
    if (g_array_index (versions, gint64, i) == id)
      {
        gint64 index = (gint64) i + offset;

        if (index >= 0 && index < versions->len)
          target = g_array_index (versions, gint64, index);
        break;
      }
  if (target == 0 ||
      !(path = rill_store_list_path (store, self->conversation_id, target, NULL)))
    return FALSE;

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->messages_box));
       child != GTK_WIDGET (row);
       child = gtk_widget_get_next_sibling (child))
    kept++;
  /* The rows above are the same messages on the new path. */
  while (kept < path->len &&
         rill_message_get_id (g_ptr_array_index (path, kept)) != target)
    kept++;
  rill_conversation_view_remove_rows_from (self, row);
  append_path (self, path, kept);
  rill_store_show_message_async (store, target, NULL, NULL, NULL);

  /* The switcher keeps the keyboard where it was. */
  if ((row = rill_conversation_view_find_row (self, target)) != NULL)
    {
      GtkWidget *button = _rill_message_row_get_version_button (row, offset);

      if (button != NULL && gtk_widget_get_sensitive (button))
        gtk_widget_grab_focus (button);
      else
        gtk_widget_grab_focus (_rill_message_row_get_version_button (row, -offset));
    }
  return TRUE;
}

static void
row_show_version_cb (RillConversationView *self,
                     int                   offset,
                     RillMessageRow       *row)
{
  rill_conversation_view_show_version (self, row, offset);
}

gboolean
rill_conversation_view_open (RillConversationView  *self,
                             gint64                 conversation_id,
                             gint64                 message_id,
                             GError               **error)
{
  g_autoptr(GPtrArray) messages = NULL;

  g_return_val_if_fail (RILL_IS_CONVERSATION_VIEW (self), FALSE);

  /* A message found by search may be on another path than the one shown:
   * the path through it is shown, and remembered. */
  if (conversation_id != 0 &&
      (messages = rill_store_list_path (get_store (self), conversation_id, message_id,
                                        error)) == NULL)
    return FALSE;

  clear_rows (self);
  set_conversation_id (self, conversation_id);
  append_path (self, messages, 0);
  if (message_id != 0)
    rill_store_show_message_async (get_store (self), message_id, NULL, NULL, NULL);

  refresh_title (self);
  update_page (self);

  if (message_id != 0)
    scroll_to_message (self, message_id);
  else
    {
      self->follow_end = TRUE;
      follow_end (self);
    }
  return TRUE;
}

/* The reply */

static void
reply_started_cb (RillConversationView *self,
                  RillReply            *reply)
{
  if (reply == self->reply && self->reply_user_row != NULL)
    rill_message_row_set_message_id (self->reply_user_row, rill_reply_get_user_message_id (reply));
  if (reply == self->reply)
    {
      rill_message_row_set_message_id (self->reply_row, rill_reply_get_message_id (reply));
      refresh_versions (self);
    }
}

/* Once per reply, where GTK can say it (4.14 and later, as in the Flatpak
 * runtime): a screen reader hears that the reply finished, or why not,
 * without moving the focus. GTK 4.8 has no announcements; a reader finds
 * the status in the message's description there. */
static void
announce_finished (RillConversationView *self,
                   RillReply            *reply)
{
#if GTK_CHECK_VERSION (4, 14, 0)
  g_autofree char *words = NULL;

  switch (rill_reply_get_status (reply))
    {
    case RILL_STATUS_COMPLETE:
      words = g_strdup (_("The reply is complete."));
      break;
    case RILL_STATUS_FAILED:
      words = g_strdup_printf (_("The reply failed: %s"), rill_reply_get_error (reply));
      break;
    default:
      words = g_strdup (_("The reply was stopped. What arrived is kept."));
      break;
    }
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_accessible_announce (GTK_ACCESSIBLE (self), words,
                           rill_reply_get_status (reply) == RILL_STATUS_FAILED
                           ? GTK_ACCESSIBLE_ANNOUNCEMENT_PRIORITY_HIGH
                           : GTK_ACCESSIBLE_ANNOUNCEMENT_PRIORITY_MEDIUM);
  G_GNUC_END_IGNORE_DEPRECATIONS
#endif
}

static void
reply_finished_cb (RillConversationView *self,
                   RillReply            *reply)
{
  g_autoptr(RillReply) finished = g_object_ref (reply);

  if (reply == self->reply)
    {
      announce_finished (self, reply);
      set_reply (self, NULL, NULL, NULL);
    }
  g_signal_handlers_disconnect_by_data (reply, self);
  update_last_flags (self);
  g_signal_emit (self, signals[REPLY_FINISHED], 0, finished);
}

void
rill_conversation_view_start_reply (RillConversationView *self,
                                    RillReply            *reply,
                                    const char           *user_text)
{
  RillMessageRow *user_row = NULL;
  RillMessageRow *reply_row;

  g_return_if_fail (RILL_IS_CONVERSATION_VIEW (self));
  g_return_if_fail (RILL_IS_REPLY (reply));
  g_return_if_fail (self->reply == NULL);

  set_conversation_id (self, rill_reply_get_conversation_id (reply));

  if (user_text != NULL)
    {
      user_row = rill_message_row_new (RILL_ROLE_USER);
      rill_message_row_set_text (user_row, user_text);
      append_row (self, user_row);
    }
  reply_row = rill_message_row_new (RILL_ROLE_ASSISTANT);
  rill_message_row_attach_reply (reply_row, reply);
  append_row (self, reply_row);
  set_reply (self, reply, user_row, reply_row);

  g_signal_connect_object (reply, "started", G_CALLBACK (reply_started_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (reply, "finished", G_CALLBACK (reply_finished_cb),
                           self, G_CONNECT_SWAPPED);

  self->follow_end = TRUE;
  follow_end (self);
  rill_reply_start (reply);
}

/* The run */

static void
set_tool_run (RillConversationView *self,
              RillToolRun          *run)
{
  gboolean was_streaming = rill_conversation_view_get_streaming (self);

  if (self->tool_run != NULL)
    g_signal_handlers_disconnect_by_data (self->tool_run, self);
  g_set_object (&self->tool_run, run);
  if (run == NULL)
    g_ptr_array_set_size (self->tool_cards, 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOOL_RUN]);
  if (was_streaming != rill_conversation_view_get_streaming (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STREAMING]);
}

/* The first call waiting gets the keyboard, unless the person is busy
 * elsewhere than the composer, which is idle while a loop runs. */
static void
focus_first_waiting (RillConversationView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = root ? gtk_root_get_focus (root) : NULL;

  if (focus != NULL && !gtk_widget_is_ancestor (focus, GTK_WIDGET (self)) &&
      gtk_widget_get_ancestor (focus, GTK_TYPE_TEXT_VIEW) == NULL)
    return;
  for (guint i = 0; i < self->tool_cards->len; i++)
    if (rill_tool_card_get_waiting (g_ptr_array_index (self->tool_cards, i)))
      {
        rill_tool_card_focus_allow (g_ptr_array_index (self->tool_cards, i));
        return;
      }
}

static void
tool_run_started_cb (RillConversationView *self,
                     RillToolRun          *run)
{
  GPtrArray *steps = rill_tool_run_get_steps (run);
  gboolean shown = rill_tool_run_get_conversation_id (run) == self->conversation_id;

  for (guint i = 0; i < steps->len; i++)
    {
      RillToolCard *card = rill_tool_card_new_for_step (g_ptr_array_index (steps, i));

      g_ptr_array_add (self->tool_cards, g_object_ref_sink (card));
      if (shown)
        append_card (self, GTK_WIDGET (card));
    }
  if (shown)
    {
      follow_end (self);
      focus_first_waiting (self);
    }
}

static void
tool_run_finished_cb (RillConversationView *self,
                      RillToolRun          *run)
{
  g_autoptr(RillToolRun) finished = g_object_ref (run);

  if (run == self->tool_run)
    set_tool_run (self, NULL);
  g_signal_handlers_disconnect_by_data (run, self);
  g_signal_emit (self, signals[TOOL_RUN_FINISHED], 0, finished);
}

void
rill_conversation_view_start_tool_run (RillConversationView *self,
                                       RillToolRun          *run)
{
  g_return_if_fail (RILL_IS_CONVERSATION_VIEW (self));
  g_return_if_fail (RILL_IS_TOOL_RUN (run));
  g_return_if_fail (self->reply == NULL && self->tool_run == NULL);

  set_tool_run (self, run);
  g_signal_connect_object (run, "started", G_CALLBACK (tool_run_started_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (run, "finished", G_CALLBACK (tool_run_finished_cb),
                           self, G_CONNECT_SWAPPED);
  rill_tool_run_start (run);
}

void
rill_conversation_view_stop_reply (RillConversationView *self)
{
  g_autoptr(RillReply) reply = NULL;

  g_return_if_fail (RILL_IS_CONVERSATION_VIEW (self));

  /* Every call not decided or still running ends stopped, each through
   * its own final write; "finished" then tells the window the loop ended. */
  if (self->tool_run != NULL)
    {
      g_autoptr(RillToolRun) run = g_object_ref (self->tool_run);

      /* Its cards follow their steps to the end; the view is free now. */
      set_tool_run (self, NULL);
      rill_tool_run_stop (run);
    }

  if (self->reply == NULL)
    return;

  /* The row shows what arrived and follows the reply until its final row
   * is committed; the view is free for the next message right away. */
  reply = g_object_ref (self->reply);
  set_reply (self, NULL, NULL, NULL);
  rill_reply_stop (reply);
  update_last_flags (self);
}

/* For the tests */

GtkBox *
_rill_conversation_view_get_messages_box (RillConversationView *self)
{
  return self->messages_box;
}

AdwStatusPage *
_rill_conversation_view_get_welcome_page (RillConversationView *self)
{
  return self->welcome_page;
}

GtkScrolledWindow *
_rill_conversation_view_get_scroller (RillConversationView *self)
{
  return self->scroller;
}

RillMessageRow *
_rill_conversation_view_get_reply_row (RillConversationView *self)
{
  return self->reply_row;
}

gboolean
_rill_conversation_view_is_scrolling (RillConversationView *self)
{
  return self->scroll_tick_id != 0;
}

/* GObject */

/* A rename, or the title the store gives a conversation from its first
 * message, here or in another window. */
static void
conversation_changed_cb (RillConversationView *self,
                         gint64                conversation_id)
{
  if (conversation_id == self->conversation_id)
    refresh_title (self);
}

/* Moved to the trash in another window (this one opens a new conversation
 * itself): what is shown is gone from every list, so this view follows. A
 * reply still streaming there keeps its rows until it ends. */
static void
conversation_deleted_cb (RillConversationView *self,
                         gint64                conversation_id)
{
  if (conversation_id == self->conversation_id && self->reply == NULL)
    rill_conversation_view_open (self, 0, 0, NULL);
}

/* The history may open after the view exists (see rill-window.c). */
static void
store_changed_cb (RillConversationView *self)
{
  g_signal_group_set_target (self->store_signals, get_store (self));
  update_welcome (self);
}

static void
set_session (RillConversationView *self,
             RillSession          *session)
{
  if (self->session == session)
    return;
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_set_object (&self->session, session);
  if (session != NULL)
    {
      g_signal_connect_object (session, "notify::provider", G_CALLBACK (update_welcome),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (session, "notify::provider-status", G_CALLBACK (update_welcome),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (session, "notify::store-waiting", G_CALLBACK (update_welcome),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (session, "notify::store-error", G_CALLBACK (update_welcome),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (session, "notify::store", G_CALLBACK (store_changed_cb),
                               self, G_CONNECT_SWAPPED);
    }
  store_changed_cb (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

static void
rill_conversation_view_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  RillConversationView *self = RILL_CONVERSATION_VIEW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;
    case PROP_CONVERSATION_ID:
      g_value_set_int64 (value, self->conversation_id);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_REPLY:
      g_value_set_object (value, self->reply);
      break;
    case PROP_STREAMING:
      g_value_set_boolean (value, rill_conversation_view_get_streaming (self));
      break;
    case PROP_TOOL_RUN:
      g_value_set_object (value, self->tool_run);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_conversation_view_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  RillConversationView *self = RILL_CONVERSATION_VIEW (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      set_session (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_conversation_view_dispose (GObject *object)
{
  RillConversationView *self = RILL_CONVERSATION_VIEW (object);

  if (self->reply != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->reply, self);
      rill_reply_stop (self->reply);
    }
  g_clear_object (&self->reply);
  g_clear_object (&self->reply_row);
  g_clear_object (&self->reply_user_row);
  if (self->tool_run != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->tool_run, self);
      rill_tool_run_stop (self->tool_run);
    }
  g_clear_object (&self->tool_run);
  g_clear_pointer (&self->tool_cards, g_ptr_array_unref);
  g_clear_object (&self->store_signals);
  if (self->scroll_tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->scroll_tick_id);
      self->scroll_tick_id = 0;
    }

  /* No gtk_widget_dispose_template (): AdwBin unparents its child itself,
   * and the template's other widgets are inside it. */

  G_OBJECT_CLASS (rill_conversation_view_parent_class)->dispose (object);
}

static void
rill_conversation_view_finalize (GObject *object)
{
  RillConversationView *self = RILL_CONVERSATION_VIEW (object);

  g_clear_object (&self->session);
  g_clear_pointer (&self->title, g_free);

  G_OBJECT_CLASS (rill_conversation_view_parent_class)->finalize (object);
}

static void
rill_conversation_view_class_init (RillConversationViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  const GParamFlags readable = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = rill_conversation_view_dispose;
  object_class->finalize = rill_conversation_view_finalize;
  object_class->get_property = rill_conversation_view_get_property;
  object_class->set_property = rill_conversation_view_set_property;

  properties[PROP_SESSION] =
    g_param_spec_object ("session", NULL, NULL, RILL_TYPE_SESSION,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_CONVERSATION_ID] =
    g_param_spec_int64 ("conversation-id", NULL, NULL, 0, G_MAXINT64, 0, readable);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL, readable);
  properties[PROP_REPLY] =
    g_param_spec_object ("reply", NULL, NULL, RILL_TYPE_REPLY, readable);
  properties[PROP_STREAMING] =
    g_param_spec_boolean ("streaming", NULL, NULL, FALSE, readable);
  properties[PROP_TOOL_RUN] =
    g_param_spec_object ("tool-run", NULL, NULL, RILL_TYPE_TOOL_RUN, readable);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[EDIT] = g_signal_new ("edit", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                0, NULL, NULL, NULL, G_TYPE_NONE, 1, RILL_TYPE_MESSAGE_ROW);
  signals[REGENERATE] = g_signal_new ("regenerate", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                      0, NULL, NULL, NULL, G_TYPE_NONE, 1, RILL_TYPE_MESSAGE_ROW);
  signals[CONTINUE] = g_signal_new ("continue", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 1, RILL_TYPE_MESSAGE_ROW);
  signals[REPLY_FINISHED] = g_signal_new ("reply-finished", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 1, RILL_TYPE_REPLY);
  signals[TOOL_RUN_FINISHED] = g_signal_new ("tool-run-finished", G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                             G_TYPE_NONE, 1, RILL_TYPE_TOOL_RUN);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/rill-conversation-view.ui");
  gtk_widget_class_bind_template_child (widget_class, RillConversationView, stack);
  gtk_widget_class_bind_template_child (widget_class, RillConversationView, welcome_page);
  gtk_widget_class_bind_template_child (widget_class, RillConversationView, add_server_button);
  gtk_widget_class_bind_template_child (widget_class, RillConversationView, scroller);
  gtk_widget_class_bind_template_child (widget_class, RillConversationView, messages_box);
}

static void
rill_conversation_view_init (RillConversationView *self)
{
  GtkAdjustment *adj;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->follow_end = TRUE;
  self->tool_cards = g_ptr_array_new_with_free_func (g_object_unref);
  self->title = g_strdup (_("New Conversation"));
  self->store_signals = g_signal_group_new (RILL_TYPE_STORE);
  g_signal_group_connect_object (self->store_signals, "conversation-changed",
                                 G_CALLBACK (conversation_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_group_connect_object (self->store_signals, "conversation-deleted",
                                 G_CALLBACK (conversation_deleted_cb), self, G_CONNECT_SWAPPED);

  adj = gtk_scrolled_window_get_vadjustment (self->scroller);
  g_signal_connect_object (adj, "notify::upper", G_CALLBACK (adjustment_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (adj, "notify::page-size", G_CALLBACK (adjustment_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (adj, "value-changed", G_CALLBACK (adjustment_value_changed_cb),
                           self, G_CONNECT_SWAPPED);
}
