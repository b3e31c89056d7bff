package api

import "github.com/gin-gonic/gin"

// mountRights registers its area's routes (being written).
func (a *API) mountRights(g *gin.RouterGroup) {}
