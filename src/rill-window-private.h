/* rill-window-private.h: shared between rill-window.c, rill-window-actions.c
 * and the tests. */
#pragma once

#include "rill-conversation-list.h"
#include "rill-message-row.h"
#include "rill-window.h"

G_BEGIN_DECLS

struct _RillWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template widgets */
  AdwToastOverlay      *toast_overlay;
  AdwFlap              *flap;
  GtkSearchEntry       *search_entry;
  GtkStack             *sidebar_stack;
  GtkListView          *conversation_view;
  GtkListView          *results_view;
  AdwWindowTitle       *window_title;
  GtkDropDown          *model_dropdown;
  GtkRevealer          *banner_revealer;
  GtkLabel             *banner_label;
  GtkStack             *content_stack;
  AdwStatusPage        *welcome_page;
  GtkButton            *add_server_button;
  GtkScrolledWindow    *messages_scroller;
  GtkBox               *messages_box;
  GtkRevealer          *edit_revealer;
  GtkTextView          *composer_view;
  GtkButton            *send_button;

  /* Owned */
  GSettings            *settings;
  RillStore            *store;
  GCancellable         *cancellable;
  GCancellable         *models_cancellable;
  RillConversationList *conversations;
  GtkSingleSelection   *conversation_selection;
  GListStore           *results;
  GHashTable           *result_titles;     /* conversation id → title */
  GtkStringList        *models;
  RillReply            *reply;             /* streaming, or NULL */
  RillMessageRow       *reply_row;
  RillMessageRow       *reply_user_row;
  char                 *pending_model;
  char                 *pending_text;
  AdwToast             *delete_toast;

  gint64                conversation_id;
  gint64                editing_message_id;
  gint64                pending_delete_id;
  gint64                scroll_to_message_id;
  guint                 scroll_tick_id;
  guint                 scroll_frames;
  guint                 updating_models : 1;
  guint                 follow_end : 1;
  guint                 preedit : 1;
  guint                 creating : 1;
  guint                 selecting : 1;
};

void            _rill_window_class_actions_init (RillWindowClass *klass);
void            _rill_window_update_actions     (RillWindow      *self);
void            _rill_window_toast              (RillWindow      *self,
                                                 const char      *text);
void            _rill_window_show_banner        (RillWindow      *self,
                                                 const char      *text);
void            _rill_window_send               (RillWindow      *self);
void            _rill_window_stop               (RillWindow      *self);
void            _rill_window_new_conversation   (RillWindow      *self);
void            _rill_window_regenerate_from    (RillWindow      *self,
                                                 RillMessageRow  *row);
void            _rill_window_continue           (RillWindow      *self);
void            _rill_window_edit               (RillWindow      *self,
                                                 RillMessageRow  *row);
void            _rill_window_reload_sidebar     (RillWindow      *self);
RillMessageRow *_rill_window_get_last_row       (RillWindow      *self,
                                                 RillRole         role);
char           *_rill_window_dup_composer_text  (RillWindow      *self);

G_END_DECLS
