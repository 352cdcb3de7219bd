"""The peer-feed widget: classmates' posts from last week's published feed, to read, like and reply to.

The feed's rules (who reads whose posts, replies to you) are ``coursekit.discussion.feed``; posts
are shown through the discussion's safe rendering, and an added image is checked and re-encoded
(``coursekit.discussion.images``) before it is saved with the reply.
"""

from __future__ import annotations

import base64
import html

import ipywidgets as w

from coursekit.discussion.feed import Feed, FeedPost, assigned_roots, replies_to_you
from coursekit.discussion.images import ACCEPTED_TYPES, ImageRefused, clean_image, data_uri
from coursekit.discussion.render import posted_at, safe_html
from coursekit.notebook import answers
from coursekit.notebook.recorder import Recorder


class PeerFeed(Recorder, w.VBox):
    """Classmates' posts from last week's feed: read, like and reply, as under a class blog post.

    Every post and reply shown has a Like (except the student's own); from week 3 on, "Replies to
    you" comes first: what classmates answered to the student's posts and replies, to answer again.
    """

    answer_kind = "peer"

    def __init__(self, feed: Feed, answer_id: str = "peers"):
        self._init_recorder(answer_id)
        self.feed = feed
        self.likes: set[str] = set()
        self.replies: list[dict] = []
        self.student = ""
        self.posts: list[FeedPost] = []
        self.conversations: list[tuple[FeedPost, list[FeedPost]]] = []
        self.like_buttons: dict[str, w.ToggleButton] = {}
        banner = (
            "<p><b>Sample class.</b> These posts were written by the course team as examples, not by your "
            "classmates; your instructor has not published last week's posts yet. Practise here: replies and "
            "likes on the sample are not collected.</p>"
            if feed.sample
            else f"<p>Posts from week {feed.week}, published by your instructor.</p>"
        )
        self.who = w.Text(placeholder="your student ID, as on the course roster", description="Student ID")
        self.show_button = w.Button(description="Show my classmates' posts", layout=w.Layout(width="auto"))
        self.show_button.on_click(lambda _: self.show(self.who.value))
        self.yours = w.VBox([])
        self.area = w.VBox([])
        self.status = w.HTML("")
        super().__init__(
            [
                w.HTML(f"<h4>Respond to classmates</h4>{banner}"),
                w.HBox([self.who, self.show_button]),
                self.status,
                self.yours,
                self.area,
            ]
        )
        self.add_class("coursekit-peers")

    def show(self, student: str) -> list[FeedPost]:
        """Show the posts assigned to ``student``, each with its replies, likes and a reply box."""
        self.student = student.strip()
        self.yours.children, self.area.children, self.like_buttons = [], [], {}
        if not self.student:
            self.status.value = f"<small>Type your student ID first: {html.escape(self.feed.id_hint)}.</small>"
            return []
        if not self.feed.knows(self.student):
            self.status.value = (
                f"<b>{html.escape(self.student)}</b> is not a student ID this feed knows. "
                f"Type {html.escape(self.feed.id_hint)}, then press the button again."
            )
            self.posts, self.conversations = [], []
            return []
        self.conversations = replies_to_you(self.feed, self.student)
        if self.conversations:
            self.yours.children = [
                w.HTML("<h4>Replies to you</h4><p>What classmates answered to your posts and replies.</p>"),
                *(self._post_box(own) for own, _ in self.conversations),
            ]
        elif self.feed.shows_conversations:
            self.yours.children = [w.HTML("<h4>Replies to you</h4><p><small>No replies to your posts yet.</small></p>")]
        self.posts = assigned_roots(self.feed, self.student)
        self.area.children = [self._post_box(post) for post in self.posts]
        self.status.value = (
            f"<small>{len(self.posts)} post(s) to read. Like the ones that taught you something.</small>"
        )
        return self.posts

    def _post_html(self, post: FeedPost) -> str:
        """A post under a heading (a reply one level down), so screen readers can jump from post to post."""
        likes = f" · liked by {post.likes}" if post.likes else ""
        when = f" · {html.escape(posted_at(post.created_at))}" if post.created_at else ""
        author = "You" if self.feed.is_by(post, self.student) else html.escape(post.author)
        week = post.week or self.feed.week
        about = f" · week {week}, {html.escape(post.prompt_title)}" if post.prompt_title else ""
        level = 6 if post.parent_id else 5
        heading = f"<h{level} style='font-size:1em;margin:0.25em 0'>{author}<small style='font-weight:normal'>"
        return f"{heading}{about}{when}{likes}</small></h{level}>{safe_html(post.message, dict(post.images))}"

    def _entry(self, post: FeedPost, depth: int) -> w.VBox:
        """One post or reply: its text, and a Like unless it is the student's own."""
        parts: list[w.Widget] = [w.HTML(self._post_html(post))]
        if not self.feed.is_by(post, self.student):
            kind = "reply" if post.parent_id else "post"
            like = w.ToggleButton(
                description="Like", icon="heart", tooltip=f"Like this {kind}", value=post.id in self.likes
            )
            like.observe(lambda change, pid=post.id: self.like(pid, change["new"]), names="value")
            self.like_buttons[post.id] = like
            parts.append(like)
        entry = w.VBox(parts, layout=w.Layout(margin=f"0 0 0 {depth * 1.5}em", border_left="3px solid #ddd"))
        entry.add_class("coursekit-entry")
        entry.post_id = post.id
        return entry

    def _thread(self, post: FeedPost, depth: int = 0) -> list[tuple[FeedPost, int]]:
        """``post`` and every reply below it, depth first, as (post, depth) in reading order."""
        found = [(post, depth)]
        for reply in self.feed.replies_to(post.id):
            found += self._thread(reply, depth + 1)
        return found

    def _target_label(self, post: FeedPost, root: FeedPost) -> str:
        if post is root:
            return "your post" if self.feed.is_by(post, self.student) else "the post"
        return "your reply" if self.feed.is_by(post, self.student) else f"{post.author}'s reply"

    def _post_box(self, post: FeedPost) -> w.VBox:
        """A thread with a Like on each post and reply (not the student's own) and one reply box."""
        thread = self._thread(post)
        entries = w.VBox([self._entry(p, depth) for p, depth in thread])
        choices = [(self._target_label(p, post), p.id) for p, _ in thread]
        target = w.Dropdown(options=choices, description="Reply to")
        text = w.Textarea(placeholder="Write a reply (Markdown)…", layout=w.Layout(width="95%", height="5em"))
        picture = w.FileUpload(accept=",".join(ACCEPTED_TYPES), multiple=False, description="Add image")
        send = w.Button(description="Post reply", button_style="primary")
        mine = w.HTML("")
        ids = {post_id for _, post_id in choices}
        send.on_click(lambda _: self.reply(target.value, text, mine, ids, picture))
        box = w.VBox([entries, target, text, picture, send, mine])
        box.add_class("coursekit-post")
        box.post_id = post.id
        box.target, box.text, box.picture, box.send, box.mine = target, text, picture, send, mine
        self._show_mine(mine, ids)
        return box

    def _show_mine(self, shown: w.HTML, thread: set[str]) -> None:
        mine = [r for r in self.replies if r["parent_id"] in thread]
        shown.value = "".join(
            f"<div><small>Your reply:</small>{safe_html(r['text'], _uris(r.get('images', {})))}</div>" for r in mine
        )

    def like(self, post_id: str, liked: bool = True) -> None:
        (self.likes.add if liked else self.likes.discard)(post_id)
        self._record()

    def reply(
        self, parent_id: str, text: w.Textarea, shown: w.HTML, thread: set[str], picture: w.FileUpload | None = None
    ) -> None:
        body = text.value.strip()
        uploaded = list(picture.value) if picture is not None else []
        if not body and not uploaded:
            shown.value = "<small>Write something first.</small>"
            return
        record: dict = {"parent_id": parent_id, "text": body[: answers.MAX_REPLY]}
        if uploaded and picture is not None:
            try:
                image = clean_image(uploaded[0]["name"], bytes(uploaded[0]["content"]))
            except ImageRefused as exc:
                shown.value = f"<small>That image cannot be posted: {html.escape(str(exc))}.</small>"
                return
            name = f"reply-{len(self.replies) + 1}.{'jpg' if image.mime == 'image/jpeg' else 'png'}"
            record["text"] = (record["text"] + f"\n\n![{name}](attachment:{name})").strip()[: answers.MAX_REPLY]
            record["images"] = {name: base64.b64encode(image.data).decode("ascii")}
            picture.value = ()
        self.replies.append(record)
        self._show_mine(shown, thread)
        text.value = ""
        self._record()

    def restore(self, state: dict) -> None:
        if state["feed"] != self.feed.id:
            return  # answers to another week's feed
        self.likes = set(state["likes"])
        self.replies = list(state["replies"])
        self.who.value = state["student"]
        self.show(state["student"])
        self._record()

    def answer_state(self) -> dict | None:
        if not self.likes and not self.replies:
            return None
        return {
            "feed": self.feed.id,
            "sample": self.feed.sample,
            "student": self.student,
            "likes": sorted(self.likes),
            "replies": list(self.replies),
        }

    def fallback(self) -> tuple[str, list[str]]:
        return "Respond to classmates: read their posts, like and reply.", []


def _uris(saved: dict[str, str]) -> dict[str, str]:
    """Data URIs for the images of a reply the student just wrote (re-encoded when it was added)."""
    found = {}
    for name, data in saved.items():
        raw = base64.b64decode(data)
        found[name] = data_uri("image/jpeg" if raw[:3] == b"\xff\xd8\xff" else "image/png", raw)
    return found
