/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-conversation-list.c
 *
 * Ten thousand conversations must open at once, so nothing is read up
 * front: the count comes from the store, and a page of rows is read when the
 * list view first asks for an item in it (only the rows on screen). Pages
 * are dropped on reload, which is cheap: the view asks again only for what
 * it shows. */

#include "rill-conversation-list.h"

#define PAGE_SIZE 64

struct _RillConversationList
{
  GObject     parent_instance;

  RillStore  *store;
  GHashTable *pages;          /* page index → GPtrArray of RillConversation */
  guint       n_items;        /* in the store */
  gint64      hidden_id;
  guint       hidden_position;
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (RillConversationList, rill_conversation_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

static GType
get_item_type (GListModel *model)
{
  return RILL_TYPE_CONVERSATION;
}

static guint
get_n_items (GListModel *model)
{
  RillConversationList *self = RILL_CONVERSATION_LIST (model);

  return self->n_items - (self->hidden_id != 0 ? 1 : 0);
}

static RillConversation *
get_stored (RillConversationList *self,
            guint                 position)
{
  guint page = position / PAGE_SIZE;
  GPtrArray *rows;

  if (position >= self->n_items)
    return NULL;

  rows = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (page));
  if (rows == NULL)
    {
      g_autoptr(GError) error = NULL;

      rows = rill_store_list_conversations (self->store, page * PAGE_SIZE, PAGE_SIZE, &error);
      if (rows == NULL)
        {
          g_warning ("Could not read conversations: %s", error->message);
          return NULL;
        }
      g_hash_table_insert (self->pages, GUINT_TO_POINTER (page), rows);
    }

  if (position % PAGE_SIZE >= rows->len)
    return NULL;
  return g_ptr_array_index (rows, position % PAGE_SIZE);
}

static gpointer
get_item (GListModel *model,
          guint       position)
{
  RillConversationList *self = RILL_CONVERSATION_LIST (model);
  RillConversation *conversation;

  if (self->hidden_id != 0 && position >= self->hidden_position)
    position++;
  conversation = get_stored (self, position);
  return conversation ? g_object_ref (conversation) : NULL;
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

static void
rill_conversation_list_finalize (GObject *object)
{
  RillConversationList *self = RILL_CONVERSATION_LIST (object);

  g_clear_pointer (&self->pages, g_hash_table_unref);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (rill_conversation_list_parent_class)->finalize (object);
}

static void
rill_conversation_list_class_init (RillConversationListClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rill_conversation_list_finalize;
}

static void
rill_conversation_list_init (RillConversationList *self)
{
  self->pages = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_ptr_array_unref);
}

RillConversationList *
rill_conversation_list_new (RillStore *store)
{
  RillConversationList *self;

  g_return_val_if_fail (RILL_IS_STORE (store), NULL);

  self = g_object_new (RILL_TYPE_CONVERSATION_LIST, NULL);
  self->store = g_object_ref (store);
  self->n_items = rill_store_count_conversations (store);
  return self;
}

void
rill_conversation_list_reload (RillConversationList *self)
{
  guint old_n;

  g_return_if_fail (RILL_IS_CONVERSATION_LIST (self));

  old_n = get_n_items (G_LIST_MODEL (self));
  g_hash_table_remove_all (self->pages);
  self->n_items = rill_store_count_conversations (self->store);
  if (self->hidden_id != 0)
    {
      /* The hidden row may have moved or gone: find it again. */
      gint64 id = self->hidden_id;

      self->hidden_id = 0;
      for (guint i = 0; i < self->n_items; i++)
        {
          RillConversation *conversation = get_stored (self, i);

          if (conversation == NULL)
            break;
          if (rill_conversation_get_id (conversation) == id)
            {
              self->hidden_id = id;
              self->hidden_position = i;
              break;
            }
          /* Most recent first: a conversation being deleted is rarely far;
           * do not read the whole history looking for it. */
          if (i >= 4 * PAGE_SIZE)
            break;
        }
    }
  g_list_model_items_changed (G_LIST_MODEL (self), 0, old_n, get_n_items (G_LIST_MODEL (self)));
}

int
rill_conversation_list_find (RillConversationList *self,
                             gint64                conversation_id)
{
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (RILL_IS_CONVERSATION_LIST (self), -1);

  g_hash_table_iter_init (&iter, self->pages);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      GPtrArray *rows = value;

      for (guint i = 0; i < rows->len; i++)
        if (rill_conversation_get_id (g_ptr_array_index (rows, i)) == conversation_id)
          {
            guint position = GPOINTER_TO_UINT (key) * PAGE_SIZE + i;

            if (self->hidden_id != 0)
              {
                if (position == self->hidden_position)
                  return -1;
                if (position > self->hidden_position)
                  position--;
              }
            return position;
          }
    }
  return -1;
}

void
rill_conversation_list_hide (RillConversationList *self,
                             gint64                conversation_id)
{
  int position;

  g_return_if_fail (RILL_IS_CONVERSATION_LIST (self));

  rill_conversation_list_unhide (self);
  position = rill_conversation_list_find (self, conversation_id);
  if (position < 0)
    return;
  self->hidden_id = conversation_id;
  self->hidden_position = position;
  g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 0);
}

void
rill_conversation_list_unhide (RillConversationList *self)
{
  g_return_if_fail (RILL_IS_CONVERSATION_LIST (self));

  if (self->hidden_id == 0)
    return;
  self->hidden_id = 0;
  g_list_model_items_changed (G_LIST_MODEL (self), self->hidden_position, 0, 1);
}
